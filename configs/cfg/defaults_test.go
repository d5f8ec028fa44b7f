package cfg_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

type inner struct {
	Window cfg.Duration `yaml:"window" default:"5m"`
	Mode   string       `yaml:"mode" default:"new"`
}

type outer struct {
	Size     cfg.ByteSize      `yaml:"size" default:"1MiB"`
	Count    int               `yaml:"count" default:"20"`
	Keep     *bool             `yaml:"keep" default:"true"`
	Channels []string          `yaml:"channels" default:"[api]"`
	None     int               `yaml:"none"`
	Inner    inner             `yaml:"inner"`
	Opt      *inner            `yaml:"opt"`
	Many     []inner           `yaml:"many"`
	ByName   map[string]inner  `yaml:"by_name"`
	ByPtr    map[string]*inner `yaml:"by_ptr"`
}

func TestSetDefaultsFillsZeroFieldsOnly(t *testing.T) {
	o := outer{Count: 3, Inner: inner{Mode: "reopen"}, Many: []inner{{}}, ByName: map[string]inner{"a": {Window: cfg.Duration(time.Second)}},
		ByPtr: map[string]*inner{"b": {}}}
	if err := cfg.SetDefaults(&o); err != nil {
		t.Fatal(err)
	}
	switch {
	case o.Size != 1<<20, o.Count != 3, o.Keep == nil || !*o.Keep, len(o.Channels) != 1 || o.Channels[0] != "api", o.None != 0:
		t.Fatalf("top level: %+v", o)
	case o.Inner.Window.D() != 5*time.Minute || o.Inner.Mode != "reopen":
		t.Fatalf("nested: %+v", o.Inner)
	case o.Opt != nil:
		t.Fatal("a nil optional section was created")
	case o.Many[0].Mode != "new", o.ByName["a"].Window.D() != time.Second || o.ByName["a"].Mode != "new":
		t.Fatalf("slice and map elements: %+v %+v", o.Many, o.ByName)
	case o.ByPtr["b"].Mode != "new":
		t.Fatalf("map of pointers: %+v", o.ByPtr["b"])
	}
}

func TestSetDefaultsRejectsABadTag(t *testing.T) {
	var v struct {
		D cfg.Duration `yaml:"d" default:"soon"`
	}
	if err := cfg.SetDefaults(&v); err == nil {
		t.Fatal("a default that does not decode was accepted")
	}
}

func TestCheckDefaultsFindsABadTagDeepInside(t *testing.T) {
	type leaf struct {
		D cfg.Duration `yaml:"d" default:"soon"`
	}
	type root struct {
		Items map[string][]*leaf `yaml:"items"`
	}
	if err := cfg.CheckDefaults(reflect.TypeFor[root]()); err == nil {
		t.Fatal("a bad default inside a map of lists was not found")
	}
	if err := cfg.CheckDefaults(reflect.TypeFor[outer]()); err != nil {
		t.Fatal(err)
	}
}

type urls struct {
	Base string `yaml:"base"`
	Hook string `yaml:"hook"`
}

func (u *urls) Validate(ck *cfg.Checker) {
	ck.BaseURL("base", u.Base)
	ck.HTTPURL("hook", u.Hook)
}

func TestURLChecks(t *testing.T) {
	for doc, want := range map[string]int{
		"base: https://api.example.com/v1\nhook: https://h.example.com/x?a=1": 0,
		"hook: http://h.example.com":                                          0, // base may be empty
		"base: https://api.example.com/?q=1\nhook: http://h":                  1,
		"base: ftp://x\nhook: /relative":                                      2,
		"base: \"\"":                                                          1, // hook is required
	} {
		var u urls
		_, err := cfg.Decode("u.yaml", []byte(doc), &u)
		var es cfg.Errors
		errors.As(err, &es)
		if len(es) != want {
			t.Errorf("%q: %d errors (%v), want %d", doc, len(es), err, want)
		}
	}
}
