package schema

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Triage events: tags, priority and snooze, set by agents, helpdesks (REST) or flows.
const (
	EventTagged          EventType = "tagged"           // tags were added
	EventUntagged        EventType = "untagged"         // tags were removed
	EventPriorityChanged EventType = "priority_changed" // the priority was set by hand
	EventSnoozed         EventType = "snoozed"          // put aside until a time
	EventWoken           EventType = "woken"            // back from a snooze
)

// What woke a snoozed conversation (Triage.Wake).
const (
	WakeTime     = "time"     // the time it was snoozed until came
	WakeCustomer = "customer" // the customer wrote
	WakeAgent    = "agent"    // an agent or helpdesk woke it (POST /v1/conversations/{id}/wake)
)

// Triage is what a tagged, untagged, priority_changed, snoozed or woken event changed.
type Triage struct {
	// Tags are the tags added (tagged) or removed (untagged).
	Tags []string `json:"tags,omitempty"`
	// Priority is the new priority and PreviousPriority the old one (priority_changed).
	Priority         *int `json:"priority,omitempty"`
	PreviousPriority int  `json:"previous_priority,omitempty"`
	// Until is when the conversation wakes by itself (snoozed), or when it was to (woken).
	Until *time.Time `json:"until,omitempty"`
	// Wake says what woke it (woken): time, customer or agent.
	Wake string `json:"wake,omitempty"`
}

// Limits of tags.
const (
	MaxTags      = 50 // per conversation
	MaxTagLength = 64
)

// NormalizeTag returns a tag as stored: trimmed and lower-cased (letters of any script,
// digits, and - _ . : /), or an error saying what is wrong with it.
func NormalizeTag(tag string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "":
		return "", fmt.Errorf("a tag must not be empty")
	case len(t) > MaxTagLength:
		return "", fmt.Errorf("tag %q is longer than %d bytes", tag, MaxTagLength)
	}
	for _, r := range t {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.:/", r) {
			return "", fmt.Errorf("tag %q: %q is not allowed (letters, digits, - _ . : /)", tag, r)
		}
	}
	return t, nil
}
