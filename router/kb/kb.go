package kb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/flows"
)

// Article is one Markdown file of the knowledge base.
type Article struct {
	// ID is the file's path in the folder without .md ("billing/refunds").
	ID       string   `yaml:"-" json:"id"`
	Title    string   `yaml:"title" json:"title"`
	Tags     []string `yaml:"tags" json:"tags,omitempty"`
	Language string   `yaml:"language" json:"language,omitempty"`
	URL      string   `yaml:"url" json:"url,omitempty"`
	Body     string   `yaml:"-" json:"-"`
}

// Base is an indexed knowledge base. It is safe for concurrent searches.
type Base struct {
	Dir      string
	Articles map[string]*Article
	index    bleve.Index
	// Version changes when any article does (a hash of the files' names, sizes and times).
	Version string
}

// Problem is a file that could not be read as an article.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) Error() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Problems are every bad file of a folder.
type Problems []Problem

func (ps Problems) Error() string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

// MaxArticleSize bounds one article file.
const MaxArticleSize = 1 << 20

// Load reads every *.md file under dir and indexes it. Files with bad front matter are
// reported together ([Problems]); nothing is indexed then.
func Load(dir string) (*Base, error) {
	b := &Base{Dir: dir, Articles: map[string]*Article{}}
	var probs Problems
	var stamp []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".md") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		stamp = append(stamp, fmt.Sprintf("%s:%d:%d", path, info.Size(), info.ModTime().UnixNano()))
		if info.Size() > MaxArticleSize {
			probs = append(probs, Problem{path, 1, fmt.Sprintf("larger than %d bytes", MaxArticleSize)})
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		a, p := Parse(filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel))), data)
		if p != nil {
			p.File = path
			probs = append(probs, *p)
			return nil
		}
		b.Articles[a.ID] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, probs
	}
	b.Version = versionOf(stamp)
	if err := b.build(); err != nil {
		return nil, err
	}
	return b, nil
}

// Stamp is the folder's version without reading the articles: Load's Version when nothing
// changed.
func Stamp(dir string) (string, error) {
	var stamp []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".md") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		stamp = append(stamp, fmt.Sprintf("%s:%d:%d", path, info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	return versionOf(stamp), err
}

func versionOf(stamp []string) string {
	slices.Sort(stamp)
	h := uint64(14695981039346656037)
	for _, s := range stamp {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
		h = (h ^ '\n') * 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

var frontMatter = regexp.MustCompile(`(?s)\A---\r?\n(.*?)\r?\n---\r?\n?`)

// Parse reads one article: YAML front matter between --- lines (title required; tags,
// language, url), then the Markdown body.
func Parse(id string, data []byte) (*Article, *Problem) {
	if !utf8.Valid(data) {
		return nil, &Problem{Line: 1, Msg: "not UTF-8 text"}
	}
	a := &Article{ID: id}
	m := frontMatter.FindSubmatchIndex(data)
	if m == nil {
		return nil, &Problem{Line: 1, Msg: "no front matter: start the file with ---, a title: line, and --- (tags, language and url are optional)"}
	}
	if _, err := cfg.Decode(id, data[m[2]:m[3]], a); err != nil {
		var errs cfg.Errors
		if errors.As(err, &errs) && len(errs) > 0 {
			e := errs[0]
			return nil, &Problem{Line: e.Line + 1, Msg: "front matter: " + strings.TrimSpace(e.Path+": "+e.Msg)}
		}
		return nil, &Problem{Line: 2, Msg: "front matter: " + err.Error()}
	}
	if strings.TrimSpace(a.Title) == "" {
		return nil, &Problem{Line: 2, Msg: "front matter: title is required"}
	}
	a.ID = id
	a.Language = strings.ToLower(a.Language)
	a.Body = string(data[m[1]:])
	return a, nil
}

// doc is what is indexed of an article.
type doc struct {
	Title    string `json:"title"`
	Tags     string `json:"tags"`
	Body     string `json:"body"`
	Language string `json:"language"`
}

func (b *Base) build() error {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = en.AnalyzerName
	dm := bleve.NewDocumentMapping()
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer, f.Store, f.IncludeTermVectors = en.AnalyzerName, true, true
		return f
	}
	dm.AddFieldMappingsAt("title", text())
	dm.AddFieldMappingsAt("tags", text())
	dm.AddFieldMappingsAt("body", text())
	lang := bleve.NewKeywordFieldMapping()
	dm.AddFieldMappingsAt("language", lang)
	im.DefaultMapping = dm
	ix, err := bleve.NewMemOnly(im)
	if err != nil {
		return err
	}
	batch := ix.NewBatch()
	for id, a := range b.Articles {
		if err := batch.Index(id, doc{Title: a.Title, Tags: strings.Join(a.Tags, " "), Body: plain(a.Body), Language: cmpOr(a.Language, noLanguage)}); err != nil {
			return err
		}
	}
	if err := ix.Batch(batch); err != nil {
		return err
	}
	b.index = ix
	return nil
}

// Search finds the best n articles for a query: the title weighs most, then tags, then the
// body. With a language, articles in that language (and those without one) are searched.
func (b *Base) Search(q, language string, n int) ([]flows.Article, error) {
	if b == nil || b.index == nil || strings.TrimSpace(q) == "" {
		return nil, nil
	}
	title := bleve.NewMatchQuery(q)
	title.SetField("title")
	title.SetBoost(3)
	tags := bleve.NewMatchQuery(q)
	tags.SetField("tags")
	tags.SetBoost(2)
	body := bleve.NewMatchQuery(q)
	body.SetField("body")
	var qq query.Query = bleve.NewDisjunctionQuery(title, tags, body)
	if language = strings.ToLower(strings.TrimSpace(language)); language != "" {
		language, _, _ = strings.Cut(language, "-")
		same := bleve.NewTermQuery(language)
		same.SetField("language")
		none := bleve.NewTermQuery(noLanguage)
		none.SetField("language")
		qq = bleve.NewConjunctionQuery(qq, bleve.NewDisjunctionQuery(same, none))
	}
	res, err := b.index.Search(bleve.NewSearchRequestOptions(qq, n, 0, false))
	if err != nil {
		return nil, err
	}
	var out []flows.Article
	for _, h := range res.Hits {
		a := b.Articles[h.ID]
		if a == nil {
			continue
		}
		out = append(out, flows.Article{ID: a.ID, Title: a.Title, URL: a.URL, Score: h.Score, Snippet: snippet(a.Body)})
	}
	return out, nil
}

// noLanguage is the language indexed for an article without one (found in every language).
const noLanguage = "_any"

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var (
	mdLink   = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	mdMarks  = regexp.MustCompile("(?m)^\\s{0,3}(#{1,6}|[-*+]|>|\\d+\\.)\\s+")
	mdInline = strings.NewReplacer("**", "", "__", "", "`", "", "*", "", "_", " ")
)

// plain is a Markdown body as text: links as their words, no heading, list or emphasis marks.
func plain(md string) string {
	t := mdLink.ReplaceAllString(md, "$1")
	t = mdMarks.ReplaceAllString(t, "")
	return mdInline.Replace(t)
}

// SnippetLength bounds a match's snippet.
const SnippetLength = 160

// snippet is the body's first paragraph as plain text, cut at a word near SnippetLength.
func snippet(md string) string {
	var para []string
	for _, line := range strings.Split(plain(md), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			if len(para) > 0 {
				break
			}
			continue
		}
		para = append(para, line)
	}
	s := strings.Join(para, " ")
	if utf8.RuneCountInString(s) <= SnippetLength {
		return s
	}
	r := []rune(s)[:SnippetLength]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > SnippetLength/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
