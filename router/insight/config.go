package insight

import (
	"fmt"
	"time"
	_ "time/tzdata" // report zones are IANA names; do not depend on the host's zoneinfo

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// Config configures the insight projection and its reports.
type Config struct {
	// Compute the figures at all (the projection reads every event once more).
	Enabled *bool `yaml:"enabled" default:"true"`
	// The zone reports' days and weeks align to (an IANA name such as Europe/Berlin).
	// Changing it applies to new days; run `switchboard insight rebuild` to realign the past.
	Timezone string `yaml:"timezone" default:"UTC"`
	// Business hours (a name under business_hours in the rules file) that
	// first_response_business is measured in; empty: no business-hours figure.
	BusinessHours string `yaml:"business_hours" example:"office"`
	// A first resolution counts as first-contact resolved unless the conversation is reopened
	// within this long after it.
	ReopenWindow cfg.Duration `yaml:"reopen_window" default:"168h"`
	// How often the projection stores what it added up (reports are this far behind at most).
	FlushInterval cfg.Duration `yaml:"flush_interval" default:"1s"`
	// Report cells are kept this long after their last change.
	Retention cfg.Duration `yaml:"retention" default:"9600h"`
	// Conversations whose state the projection keeps in memory; beyond, the resolved ones are
	// dropped first and read back from the stream when they change again.
	MaxTrackers int `yaml:"max_trackers" default:"200000"`
}

// WithDefaults fills what the file left out.
func (c Config) WithDefaults() Config {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err)
	}
	return c
}

// On reports whether the projection runs.
func (c Config) On() bool { return c.Enabled == nil || *c.Enabled }

// Location is the report zone.
func (c Config) Location() (*time.Location, error) {
	if c.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (write an IANA name such as Europe/Berlin)", c.Timezone)
	}
	return loc, nil
}
