package cfg

import (
	"errors"
	"strings"
	"testing"
)

type testAccount struct {
	Token   Secret   `yaml:"token"`
	Limit   ByteSize `yaml:"limit"`
	Timeout Duration `yaml:"timeout"`
}

func (a *testAccount) Validate(c *Checker) {
	c.Required("token", !a.Token.IsSet())
}

type testConfig struct {
	Name     string                  `yaml:"name"`
	Port     int                     `yaml:"port"`
	Debug    bool                    `yaml:"debug"`
	Tags     []string                `yaml:"tags"`
	Accounts map[string]*testAccount `yaml:"accounts"`
	Ratio    float64                 `yaml:"ratio"`
}

func decodeErrs(t *testing.T, src string) (testConfig, []string) {
	t.Helper()
	var c testConfig
	_, err := Decode("test.yaml", []byte(src), &c)
	if err == nil {
		return c, nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want cfg.Errors", err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return c, out
}

func TestDecodeValid(t *testing.T) {
	t.Setenv("CFG_TEST_TOKEN", "s3cret")
	c, errs := decodeErrs(t, `
name: gw
port: 8080
debug: true
ratio: 0.5
tags: [a, b]
accounts:
  demo:
    token: {env: CFG_TEST_TOKEN}
    limit: 1MiB
    timeout: 1500ms
`)
	if errs != nil {
		t.Fatalf("unexpected errors: %v", errs)
	}
	a := c.Accounts["demo"]
	if c.Name != "gw" || c.Port != 8080 || !c.Debug || c.Ratio != 0.5 || len(c.Tags) != 2 {
		t.Fatalf("decoded %+v", c)
	}
	if a.Token.Value() != "s3cret" || a.Limit != 1<<20 || a.Timeout.D().Milliseconds() != 1500 {
		t.Fatalf("account %+v", a)
	}
}

func TestDecodeReportsEveryErrorWithPosition(t *testing.T) {
	_, errs := decodeErrs(t, `name: gw
prot: 8080
debug: yes please
accounts:
  demo:
    token: {env: CFG_TEST_UNSET_VARIABLE}
    limit: lots
  other:
    timeout: 5
`)
	want := []string{
		`test.yaml:2:1: prot: unknown field "prot"; did you mean "port"?`,
		`test.yaml:3:8: debug: expected true or false, got "yes please"`,
		`test.yaml:6:18: accounts.demo.token.env: environment variable CFG_TEST_UNSET_VARIABLE is not set`,
		`test.yaml:7:12: accounts.demo.limit: invalid size "lots" (write e.g. 4096, 512KiB, 10MiB)`,
		`test.yaml:8:3: accounts.other.token: is required`,
		`test.yaml:9:14: accounts.other.timeout: invalid duration "5" (write e.g. 500ms, 30s, 5m, 2h)`,
	}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeShapeErrors(t *testing.T) {
	_, errs := decodeErrs(t, "tags: notalist\naccounts: [1]\nport: 1.5\nname: x\nname: y\n")
	want := []string{
		`test.yaml:1:7: tags: expected a list, got the string "notalist"`,
		`test.yaml:2:11: accounts: expected a mapping, got a list`,
		`test.yaml:3:7: port: expected an integer, got "1.5"`,
		`test.yaml:5:1: name: duplicate field "name"`,
	}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeSyntaxErrorIsLocated(t *testing.T) {
	_, errs := decodeErrs(t, "name: gw\ntags: [a, b\nport: 1\n")
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "test.yaml:") || !strings.Contains(errs[0], "invalid YAML") {
		t.Fatalf("got %q", errs)
	}
	if strings.HasPrefix(errs[0], "test.yaml: ") {
		t.Fatalf("syntax error has no line: %q", errs[0])
	}
}

func TestSecretNeverRenders(t *testing.T) {
	s := NewSecret("hunter2")
	for _, got := range []string{s.String(), s.GoString()} {
		if strings.Contains(got, "hunter2") {
			t.Fatalf("secret leaked: %q", got)
		}
	}
	b, _ := s.MarshalText()
	if strings.Contains(string(b), "hunter2") {
		t.Fatal("secret leaked through MarshalText")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("name: gw\nport: 1\naccounts: {a: {token: {env: X}}}\n")
	f.Add("tags: [a, *x]\n")
	f.Add("a: &x {b: 1}\nc: *x\n")
	f.Add("---\nname: a\n---\nname: b\n")
	f.Fuzz(func(t *testing.T, src string) {
		var c testConfig
		_, err := Decode("fuzz.yaml", []byte(src), &c)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not a non-empty cfg.Errors", err)
			}
		}
	})
}
