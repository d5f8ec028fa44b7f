// Package survey is what CSAT and NPS surveys need besides JetStream (docs/surveys.md): the
// answer parser (button payloads, digits, "5/5", stars, thumbs, number words in English and
// Turkish), the built-in question texts, the rendering of a question for a channel (native
// choices or a numbered text), and the signed tokens of the email links. Pure: no JetStream,
// tested without a server.
package survey
