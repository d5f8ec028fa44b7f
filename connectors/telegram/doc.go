// Package telegram is the Telegram Bot API channel.
//
// Each configured bot has a webhook, /v1/channels/telegram/<account>/webhook, registered with
// setWebhook and a secret_token; every update must carry it in
// X-Telegram-Bot-Api-Secret-Token (compared in constant time, 403 otherwise). Private-chat
// messages, edits, callback queries and reactions are normalized and handed off; the webhook
// answers 200 only after the update is durable, deduplicated on "<bot id>:<update_id>".
// Photos and documents are fetched with getFile outside the webhook path; replies go out with
// sendMessage, sendPhoto and sendDocument. See docs/channels/telegram.md.
package telegram
