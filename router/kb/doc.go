// Package kb is the knowledge base of the flows' article steps (docs/flows.md): a folder of
// Markdown articles with front matter (title, tags, language, url), indexed in memory with
// bleve at start and again when the folder changes.
package kb
