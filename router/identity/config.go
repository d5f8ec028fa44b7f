package identity

import (
	"github.com/nyaruka/phonenumbers"
	"github.com/switchboardhq/switchboard/configs/cfg"
)

// Config configures address normalization (router.identity).
type Config struct {
	// The ISO 3166-1 region national phone numbers are read in (US, GB, ...). Numbers in
	// international form (+...) do not need it.
	DefaultRegion string `yaml:"default_region" example:"US"`
	// default_region per account: keys are "<account>" or "<channel>/<account>".
	Regions map[string]string `yaml:"regions" example:"{uk-support: GB, sms/de-line: DE}"`
}

// Validate checks the regions.
func (id *Config) Validate(ck *cfg.Checker) {
	if id.DefaultRegion != "" && !validRegion(id.DefaultRegion) {
		ck.Errorf("default_region", "unknown region %q (write an ISO 3166-1 code such as US, GB, DE)", id.DefaultRegion)
	}
	for k, r := range id.Regions {
		if !validRegion(r) {
			ck.Errorf("regions."+k, "unknown region %q (write an ISO 3166-1 code such as US, GB, DE)", r)
		}
	}
}

func validRegion(r string) bool {
	_, ok := phonenumbers.GetSupportedRegions()[r]
	return ok
}
