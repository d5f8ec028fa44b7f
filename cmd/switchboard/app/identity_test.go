package app_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/schema"
)

const identityRouter = `
router:
  identity: {default_region: US}
`

// An SMS and an email from one customer, linked through the REST API, land in one
// conversation; the link is an event, and splitting it off again is too.
func TestLinkedCustomerSMSAndEmailShareAConversation(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+identityRouter)
	publish(t, g, sms("SM1", "+1 415 555 0100", "my order is late"))
	first := g.Events("sb.conv.*.message", 1, 10*time.Second)[0]
	cust, conv := first.CustomerID, first.ConversationID

	// A separate email customer exists before the link: linking merges it.
	publish(t, g, email("e1", "Pat@Example.com", "hello from email", "m1@mail.example"))
	evs := waitFor(t, g, "sb.conv.*.message", 10*time.Second, atLeast(2, schema.EventMessage))
	other := evs[1].CustomerID
	if other == cust || evs[1].ConversationID == conv {
		t.Fatalf("an unlinked email address is its own customer: %s", apptest.Sprint(evs))
	}
	st, body := g.Do("POST", "/v1/customers/"+cust+"/identities", apptest.Token, map[string]string{"kind": "email", "value": "pat@example.com"})
	if st != 200 {
		t.Fatalf("link: %d %s", st, body)
	}
	merged := waitFor(t, g, "sb.customer.>", 5*time.Second, atLeast(1, schema.EventCustomerMerged))[0]
	if merged.CustomerID != cust || merged.Identity.OtherCustomer != other || merged.Seq != 1 {
		t.Fatalf("merge event %+v", merged)
	}

	publish(t, g, email("e2", "pat@example.com", "any news?", "m2@mail.example"))
	evs = waitFor(t, g, "sb.conv.*.message", 10*time.Second, atLeast(3, schema.EventMessage))
	if evs[2].CustomerID != cust || evs[2].ConversationID != conv {
		t.Fatalf("the email after the link joined %s/%s, want %s/%s", evs[2].CustomerID, evs[2].ConversationID, cust, conv)
	}
	// The intake filed it under the partition of the customer its address used to make; when
	// that is not the survivor's, the router reading it forwarded it there.
	forwarded := "0"
	if streams.Partition(other, 4) != streams.Partition(cust, 4) {
		forwarded = "1"
	}
	if n := metric(g, "switchboard_router_forwarded_total"); n != forwarded {
		t.Fatalf("forwarded %s messages, want %s", n, forwarded)
	}
	var view struct {
		Customer      schema.Customer
		Conversations []schema.Conversation
	}
	getJSON(t, g, "/v1/customers/"+cust+"/view", &view)
	if len(view.Customer.Identities) != 2 || len(view.Conversations) != 2 || view.Customer.MergedFrom[0] != other {
		t.Fatalf("customer view: %+v", view)
	}
	c := view.Conversations[len(view.Conversations)-1]
	if c.ID != conv || len(c.Channels) != 2 || c.ReplyRoute.Channel != schema.ChannelEmail {
		t.Fatalf("the shared conversation: %+v", c)
	}
	var found schema.Customer
	getJSON(t, g, "/v1/customers?identity="+url.QueryEscape("phone:(415) 555-0100"), &found)
	if found.ID != cust {
		t.Fatalf("lookup by national number found %s", found.ID)
	}

	// Split undoes the merge: the email address is the other customer again.
	if st, body := g.Do("POST", "/v1/customers/"+cust+"/split", apptest.Token, map[string]string{"customer_id": other}); st != 200 {
		t.Fatalf("split: %d %s", st, body)
	}
	publish(t, g, email("e3", "pat@example.com", "third", "m3@mail.example"))
	evs = waitFor(t, g, "sb.conv.*.message", 10*time.Second, atLeast(4, schema.EventMessage))
	if evs[3].CustomerID != other {
		t.Fatalf("after the split the email belongs to %s, want %s", evs[3].CustomerID, other)
	}
	custEvs := waitFor(t, g, "sb.customer."+cust+".>", 5*time.Second, atLeast(1, schema.EventCustomerSplit))
	if len(custEvs) != 2 || custEvs[1].Seq != 2 {
		t.Fatalf("customer events: %s", apptest.Sprint(custEvs))
	}
}

// Many first messages at once from one new customer, written differently on different
// channels and posted to two instances, make one customer and one conversation.
func TestSimultaneousFirstMessagesMakeOneCustomer(t *testing.T) {
	cfg := apptest.DefaultConfig + identityRouter
	g1 := apptest.Start(t, cfg)
	g2 := second(t, g1, cfg)
	forms := []struct {
		ch   schema.Channel
		from string
	}{{"sms", "+14155550199"}, {"whatsapp", "whatsapp:+14155550199"}, {"sms", "(415) 555-0199"}, {"whatsapp", "+1 415-555-0199"}}
	var wg sync.WaitGroup
	const n = 16
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := forms[i%len(forms)]
			m := &schema.Message{Channel: f.ch, Account: "acme", ExternalID: fmt.Sprintf("first-%d", i),
				From: schema.Address{Kind: "phone", Value: f.from}, Text: "hi"}
			publish(t, []*apptest.Gateway{g1, g2}[i%2], m)
		}()
	}
	wg.Wait()
	evs := waitFor(t, g1, "sb.conv.>", 20*time.Second, atLeast(n, schema.EventMessage))
	if opened := ofType(evs, schema.EventOpened); len(opened) != 1 {
		t.Fatalf("%d conversations opened:\n%s", len(opened), apptest.Sprint(evs))
	}
	for _, e := range ofType(evs, schema.EventMessage) {
		if e.CustomerID != evs[0].CustomerID || e.ConversationID != evs[0].ConversationID {
			t.Fatalf("message %s went to %s/%s", e.Message.ExternalID, e.CustomerID, e.ConversationID)
		}
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("seq %d at %d: gaps or repeats across instances:\n%s", e.Seq, i, apptest.Sprint(evs))
		}
	}
}

// A channel-verified identity of an existing customer merges automatically; different
// verified external ids never merge, they are flagged as a conflict.
func TestVerifiedProfilesMergeAndConflictsAreFlagged(t *testing.T) {
	g := apptest.Start(t, `
log: {level: warn}
pipeline: {partitions: 4}
rest: {tokens: [{name: test, token: {env: APPTEST_TOKEN}}]}
channels:
  api:
    accounts:
      demo: {token: {env: APPTEST_TOKEN}, verified: true}
`)
	n := 0
	post := func(ext, from string, profile map[string]any) string { // returns the customer it went to
		t.Helper()
		st, body := g.Do("POST", "/v1/channels/api/demo/messages", apptest.Token,
			map[string]any{"external_id": ext, "from": from, "text": "hi", "profile": profile})
		if st != 202 {
			t.Fatalf("post: %d %s", st, body)
		}
		n++
		return g.Events("sb.conv.*.message", n, 10*time.Second)[n-1].CustomerID
	}
	pat := post("v1", "pat@example.com", map[string]any{"external_id": "user-1"})
	visitor := post("v2", "visitor-77", nil)                                      // an anonymous visitor ...
	signedIn := post("v3", "visitor-77", map[string]any{"external_id": "user-1"}) // ... who signs in as user-1
	if visitor == pat || signedIn != pat {
		t.Fatalf("the signed-in visitor is merged into user-1's customer: %s %s %s", pat, visitor, signedIn)
	}
	if again := post("v3b", "visitor-77", nil); again != pat {
		t.Fatalf("the visitor's next anonymous message goes to %s, want %s", again, pat)
	}
	sam := post("v4", "sam@example.com", map[string]any{"external_id": "user-2"})
	if other := post("v5", "sam@example.com", map[string]any{"external_id": "user-1"}); other != sam || sam == pat {
		t.Fatalf("a different verified user-1 on user-2's address: %s (user-2 is %s)", other, sam)
	}
	custEvs := waitFor(t, g, "sb.customer.>", 5*time.Second, atLeast(1, schema.EventIdentityConflict))
	var s schema.Customer
	getJSON(t, g, "/v1/customers/"+sam, &s)
	if len(s.Conflicts) != 1 || s.Conflicts[0].Value != "demo/user-1" || s.ExternalID != "demo/user-2" {
		t.Fatalf("conflict not flagged: %+v\n%s", s, apptest.Sprint(custEvs))
	}
	if len(ofType(custEvs, schema.EventCustomerMerged)) != 1 {
		t.Fatalf("customer events:\n%s", apptest.Sprint(custEvs))
	}
}

// TestForgedEmailSenderIsKeptApart: mail whose From failed authentication (the email
// connector's verdict) never joins the real customer of that address: it gets a customer and
// conversation of its own. An authenticated message from the same address joins the real one.
func TestForgedEmailSenderIsKeptApart(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	mail := func(ext string, auth *schema.SenderAuth) *schema.Message {
		return &schema.Message{Channel: schema.ChannelEmail, Account: "support", ExternalID: ext, Text: ext,
			From: schema.Address{Kind: "email", Value: "victim@example.com"}, SenderAuth: auth}
	}
	publish(t, g, mail("real-1", nil))
	real := g.Events("sb.conv.*.message", 1, 10*time.Second)[0]
	publish(t, g, mail("forged-1", &schema.SenderAuth{Verdict: schema.AuthFail, DMARC: "fail"}))
	publish(t, g, mail("real-2", &schema.SenderAuth{Verdict: schema.AuthPass, DMARC: "pass"}))
	evs := g.Events("sb.conv.*.message", 3, 10*time.Second)
	byExt := map[string]*schema.Event{}
	for _, e := range evs {
		byExt[e.Message.ExternalID] = e
	}
	forged, authed := byExt["forged-1"], byExt["real-2"]
	if forged == nil || authed == nil {
		t.Fatalf("events: %s", apptest.Sprint(evs))
	}
	if forged.CustomerID == real.CustomerID || forged.ConversationID == real.ConversationID {
		t.Fatalf("the forged mail joined the victim's customer %s / conversation %s", real.CustomerID, real.ConversationID)
	}
	if authed.CustomerID != real.CustomerID || authed.ConversationID != real.ConversationID {
		t.Fatalf("the authenticated mail went to %s, want the customer %s", authed.CustomerID, real.CustomerID)
	}
}

// An identity that changes owner elsewhere (another instance's merge, here written straight
// to sb_identities) is resolved to its new owner at once: the owner cache follows the bucket
// instead of trusting an entry for 2 seconds.
func TestOwnerCacheFollowsIdentityChanges(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("oc-z", "zed@example.com", "hello from zed")
	g.PostAPI("oc-x1", "xena@example.com", "hello from xena")
	evs := g.Events("sb.conv.*.message", 2, 10*time.Second)
	owner := map[string]string{}
	for _, e := range evs {
		owner[e.Message.From.Value] = e.CustomerID
	}
	zed, xena := owner["zed@example.com"], owner["xena@example.com"]
	if zed == "" || xena == "" || zed == xena {
		t.Fatalf("owners %v", owner)
	}
	ctx := context.Background()
	ids, err := g.JS.KeyValue(ctx, streams.BucketIdentities)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Put(ctx, streams.Key(identity.Key(schema.Identity{Kind: "email", Value: "xena@example.com"})), []byte(zed)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // well inside the 2 s an unwatched cache would trust
	g.PostAPI("oc-x2", "xena@example.com", "xena again")
	var got string
	for _, e := range g.Events("sb.conv.*.message", 3, 10*time.Second) {
		if e.Message.Text == "xena again" {
			got = e.CustomerID
		}
	}
	if got != zed {
		t.Fatalf("xena's next message went to %s, want the identity's new owner %s (old %s)", got, zed, xena)
	}
}

// A conversation listed on a customer after it was merged into another (the router's
// follow-up of a message handled just before the merge) goes to the survivor: the merge
// copied only what was listed then.
func TestConversationListedAfterAMergeGoesToTheSurvivor(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+identityRouter)
	publish(t, g, sms("SM1", "+1 415 555 0111", "hello"))
	publish(t, g, email("e1", "late@example.com", "hello from email", "m1@mail.example"))
	evs := waitFor(t, g, "sb.conv.*.message", 10*time.Second, atLeast(2, schema.EventMessage))
	cust, other := evs[0].CustomerID, evs[1].CustomerID
	if st, body := g.Do("POST", "/v1/customers/"+cust+"/identities", apptest.Token, map[string]string{"kind": "email", "value": "late@example.com"}); st != 200 {
		t.Fatalf("link: %d %s", st, body)
	}
	waitFor(t, g, "sb.customer.>", 5*time.Second, atLeast(1, schema.EventCustomerMerged))
	ctx := context.Background()
	kv, err := g.JS.KeyValue(ctx, streams.BucketCustomers)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.AddConversation(ctx, kv, other, "cnv_late", time.Now()); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		var c schema.Customer
		getJSON(t, g, "/v1/customers/"+cust, &c)
		if !slices.Contains(c.Conversations, "cnv_late") || len(c.Conversations) != 3 {
			return fmt.Errorf("the survivor lists %v, want its two conversations and cnv_late", c.Conversations)
		}
		return nil
	})
}
