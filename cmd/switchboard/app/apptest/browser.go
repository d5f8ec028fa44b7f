package apptest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds the Debian browser; without it the test fails when
// SWITCHBOARD_REQUIRE_INTEROP=1 (CI) and is skipped otherwise.
func Chromium(t testing.TB) string {
	for _, name := range []string{os.Getenv("SWITCHBOARD_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SWITCHBOARD_REQUIRE_INTEROP") == "1" {
		t.Fatal("chromium is not installed but SWITCHBOARD_REQUIRE_INTEROP=1: run .ci/deps (Debian package chromium)")
	}
	t.Skip("chromium is not installed (Debian package chromium, see .ci/apt-packages); skipping the browser test")
	return ""
}

// ArtifactsDir is where screenshots go: $SWITCHBOARD_ARTIFACTS, else a temporary dir.
func ArtifactsDir(t testing.TB) string {
	if d := os.Getenv("SWITCHBOARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Browser starts headless Chromium with a window of w × h; it is closed when the test ends.
func Browser(t testing.TB, w, h int) context.Context {
	bin := Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h),
	}
	actx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, stopBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() {
		cancel()
		_ = chromedp.Cancel(bctx) // closes the browser and waits for the process to exit
		stopBrowser()
		stopAlloc()
	})
	return ctx
}

// Poll evaluates expr in the page until ok accepts its value.
func Poll(t testing.TB, ctx context.Context, expr string, ok func(string) bool) string {
	t.Helper()
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err == nil && ok(v) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: last value %q, error %v", expr, v, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Screenshot saves the page as name (PNG) in ArtifactsDir and returns the path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(ArtifactsDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
