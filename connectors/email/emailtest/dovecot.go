package emailtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Dovecot is a real Dovecot (Debian's dovecot-imapd and dovecot-lmtpd) started by the test:
// unprivileged, on random loopback ports, with its configuration, mail and state under a
// temporary directory. Mail is delivered over LMTP as an MTA would.
type Dovecot struct {
	Dir        string
	IMAP, LMTP string // host:port
	cmd        *exec.Cmd
}

// DovecotPassword is [User]'s password in the Dovecot mailbox.
const DovecotPassword = "dovecot-pw-1"

// StartDovecot starts Dovecot; it fails when SWITCHBOARD_REQUIRE_INTEROP=1 and Dovecot is not installed, and
// skips otherwise.
func StartDovecot(t testing.TB) *Dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			bin, err = "/usr/sbin/dovecot", nil
		}
	}
	if err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_INTEROP") == "1" {
			t.Fatal("dovecot is not installed (Debian packages dovecot-imapd and dovecot-lmtpd; run .ci/deps)")
		}
		t.Skip("dovecot is not installed; install dovecot-imapd and dovecot-lmtpd (.ci/deps) to run the interop suite")
	}
	d := &Dovecot{Dir: t.TempDir(), IMAP: freePort(t), LMTP: freePort(t)}
	uid, gid, name, group := runAs(t)
	if err := os.WriteFile(filepath.Join(d.Dir, "users"), []byte(User+":{PLAIN}"+DovecotPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(d.Dir, "dovecot.conf")
	if err := os.WriteFile(conf, []byte(d.config(uid, gid, name, group)), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		shareWith(t, d.Dir, uid, gid)
	}
	d.cmd = exec.Command(bin, "-F", "-c", conf)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		d.cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() { d.stop(t) })
	d.waitReady(t)
	return d
}

func (d *Dovecot) config(uid, gid int, name, group string) string {
	return fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = %[4]s
default_internal_user = %[4]s
default_internal_group = %[5]s
first_valid_uid = %[2]d
first_valid_gid = %[3]d
mail_location = maildir:%[1]s/mail/%%u
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=%[2]d gid=%[3]d home=%[1]s/home/%%u
}
protocol lmtp {
  postmaster_address = postmaster@example.com
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]d
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[7]d
  }
}
service anvil {
  chroot =
}
service pop3-login {
  chroot =
}
service submission-login {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
`, d.Dir, uid, gid, name, group, PortOf(d.IMAP), PortOf(d.LMTP))
}

// runAs picks the user Dovecot runs as: the current one, or nobody when the tests run as
// root (Dovecot refuses to run mail processes as root).
func runAs(t testing.TB) (uid, gid int, name, group string) {
	t.Helper()
	u, err := user.Current()
	if os.Geteuid() == 0 {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.Username, g.Name
}

// shareWith hands the directory to Dovecot's user and lets it traverse the parents.
func shareWith(t testing.TB, dir string, uid, gid int) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chown(p, uid, gid)
		}
		return err
	})
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(p, fi.Mode().Perm()|0o011)
		}
	}
}

func (d *Dovecot) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.IMAP, time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "* OK") {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
			t.Fatalf("dovecot did not accept IMAP connections on %s: %v\n%s", d.IMAP, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the Dovecot master and every process of its group.
func (d *Dovecot) stop(t testing.TB) {
	if d.cmd.Process == nil {
		return
	}
	pgid := d.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("dovecot did not stop on SIGTERM; killing it")
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // any straggler of the group
}

// LMTPClient opens an LMTP session, as an MTA delivering mail does.
func (d *Dovecot) LMTPClient(t testing.TB) *smtp.Client {
	t.Helper()
	conn, err := net.Dial("tcp", d.LMTP)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	if err := c.Hello("mx.test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DeliverLMTP delivers raw to [User].
func DeliverLMTP(t testing.TB, c *smtp.Client, raw string) {
	t.Helper()
	if err := c.SendMail("sender@example.org", []string{User}, strings.NewReader(raw)); err != nil {
		t.Fatalf("lmtp delivery: %v", err)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// PortOf returns the port of host:port.
func PortOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
