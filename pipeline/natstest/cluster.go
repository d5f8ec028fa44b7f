// Package natstest starts real nats-servers in process for tests: a JetStream cluster of n
// nodes on loopback with random ports and temporary stores, whose nodes can be killed.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a running JetStream cluster.
type Cluster struct {
	t       testing.TB
	Servers []*server.Server
	opts    []*server.Options
}

// StartCluster starts n JetStream nodes clustered on loopback; they stop when the test ends.
// The route ports are picked free and then bound by the servers, so another process can take
// one in between: a cluster whose node does not come up is shut down and started again on
// fresh ports (three tries).
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	for try := 1; ; try++ {
		c, down := startCluster(t, n)
		if down == "" {
			t.Cleanup(c.Shutdown)
			c.waitMetaLeader(60 * time.Second)
			return c
		}
		c.Shutdown()
		if try == 3 {
			t.Fatalf("%s not ready (three tries, fresh ports each)", down)
		}
		t.Logf("%s not ready: starting the cluster again on fresh ports", down)
	}
}

// startCluster starts the nodes and returns the first one that is not ready ("" when all are).
func startCluster(t testing.TB, n int) (*Cluster, string) {
	t.Helper()
	base := t.TempDir()
	ports := freePorts(t, n)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &Cluster{t: t}
	for i := 0; i < n; i++ {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
			JetStream: true, StoreDir: filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			Cluster: server.ClusterOpts{Name: "test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		c.Servers, c.opts = append(c.Servers, s), append(c.opts, o)
	}
	for _, s := range c.Servers {
		if !s.ReadyForConnections(20 * time.Second) {
			return c, s.Name()
		}
	}
	return c, ""
}

// waitMetaLeader waits until the nodes have elected a JetStream meta leader, every node is
// current with it, and the leader counts every node as an online peer: before that, creating
// a stream or consumer waits for the election (which on a loaded machine took long enough to
// time out a gateway's start), or is refused with "no suitable peers for placement".
func (c *Cluster) waitMetaLeader(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		peers, current := 0, true
		for _, s := range c.Servers {
			if s.JetStreamIsLeader() {
				peers = len(s.JetStreamClusterPeers())
			}
			current = current && s.JetStreamIsCurrent()
		}
		if peers == len(c.Servers) && current {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no JetStream meta leader with all %d peers online after %v", len(c.Servers), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URLs is the comma-separated client URL list of the running nodes.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		if s.Running() {
			urls = append(urls, s.ClientURL())
		}
	}
	return strings.Join(urls, ",")
}

// Kill stops the named node abruptly (as far as its peers can tell).
func (c *Cluster) Kill(name string) {
	for _, s := range c.Servers {
		if s.Name() == name {
			s.Shutdown()
			s.WaitForShutdown()
			return
		}
	}
	c.t.Fatalf("no node %q", name)
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for _, s := range c.Servers {
		if s.Running() {
			s.Shutdown()
			s.WaitForShutdown()
		}
	}
}

func freePorts(t testing.TB, n int) []int {
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// StartServer starts one standalone JetStream server on loopback; it stops when the test ends.
func StartServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// StartJetStream starts a standalone server (StartServer) and returns a JetStream context on a
// connection to it; both end with the test.
func StartJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	s := StartServer(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
