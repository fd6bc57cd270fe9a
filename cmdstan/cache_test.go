package cmdstan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCacheKey(t *testing.T) {
	base := cacheKey("t1", "2.33.1", []string{"A=1", "B=2"}, nil, []byte("model {}"))
	if base != cacheKey("t1", "2.33.1", []string{"A=1", "B=2"}, nil, []byte("model {}")) {
		t.Fatal("the same inputs give different keys")
	}
	for name, k := range map[string]string{
		"tool digest":    cacheKey("t2", "2.33.1", []string{"A=1", "B=2"}, nil, []byte("model {}")),
		"cmdstan":        cacheKey("t1", "2.34.0", []string{"A=1", "B=2"}, nil, []byte("model {}")),
		"make vars":      cacheKey("t1", "2.33.1", []string{"A=1"}, nil, []byte("model {}")),
		"joined vars":    cacheKey("t1", "2.33.1", []string{"A=1B=2"}, nil, []byte("model {}")),
		"var order":      cacheKey("t1", "2.33.1", []string{"B=2", "A=1"}, nil, []byte("model {}")),
		"make/local":     cacheKey("t1", "2.33.1", []string{"A=1", "B=2"}, []byte("CXX=clang++\n"), []byte("model {}")),
		"program":        cacheKey("t1", "2.33.1", []string{"A=1", "B=2"}, nil, []byte("model { }")),
		"shifted inputs": cacheKey("t12.33.1", "", []string{"A=1", "B=2"}, nil, []byte("model {}")),
	} {
		if k == base {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("DSAMSTAN_CACHE", "/some/where")
	if d, err := DefaultCacheDir(); err != nil || d != "/some/where" {
		t.Errorf("with DSAMSTAN_CACHE: %q, %v", d, err)
	}
	t.Setenv("DSAMSTAN_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, err := DefaultCacheDir(); err != nil || d != filepath.Join("/xdg", "dsamstan") {
		t.Errorf("without DSAMSTAN_CACHE: %q, %v; want /xdg/dsamstan", d, err)
	}
}

// TestCacheLock checks the lock excludes a second holder until released, and that
// waiting for it honours the context.
func TestCacheLock(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := cacheKey("", "", nil, nil, nil)
	unlock, err := c.lock(context.Background(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := c.lock(ctx, key, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Fatalf("second lock: %v, waited %v; want it to wait and give up at the deadline", err, waited)
	}
	got := make(chan error)
	go func() {
		u, err := c.lock(context.Background(), key, nil)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lock was not handed over after unlock")
	}
}

// cacheEntries lists the entry directories in the cache.
func cacheEntries(t *testing.T, c *Cache) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(c.Dir, "??", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestCacheKeyPlatform checks that what makes a build non-portable is in the key: the
// compiler flags make takes from the environment, and the CPU when a flag builds for the
// native one.
func TestCacheKeyPlatform(t *testing.T) {
	for _, v := range compilerEnv {
		t.Setenv(v, "")
	}
	base := cacheKey("t", "2.33.1", nil, nil, []byte("model {}"))
	t.Setenv("CXXFLAGS", "-O3")
	if cacheKey("t", "2.33.1", nil, nil, []byte("model {}")) == base {
		t.Error("CXXFLAGS in the environment keeps the key")
	}
	t.Setenv("CXXFLAGS", "")
	if p := platform(nil, nil); !strings.Contains(p, runtime.GOARCH) || strings.Contains(p, "cpu=") {
		t.Errorf("platform() = %q; want the architecture and no CPU", p)
	}
	for _, native := range []struct {
		vars  []string
		local string
	}{{[]string{"CXXFLAGS+=-march=native"}, ""}, {nil, "CXXFLAGS += -O3 -mtune=native\n"}} {
		if p := platform(native.vars, []byte(native.local)); !strings.Contains(p, "cpu=") {
			t.Errorf("platform(%q, %q) = %q; want the CPU named", native.vars, native.local, p)
		}
	}
}

// TestCachePutKeepsPublishedEntry plays two nodes that built the same key at once, without
// a lock between them: the second publisher keeps the first one's entry (which may be
// running) and drops its own; only a forced rebuild, or a corrupt entry, is replaced.
func TestCachePutKeepsPublishedEntry(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := cacheKey("", "2.33.1", nil, nil, []byte("model {}"))
	build := func(body string) string {
		p := filepath.Join(t.TempDir(), "model")
		os.WriteFile(p, []byte(body), 0o755)
		return p
	}
	content := func(exe string) string {
		b, _ := os.ReadFile(exe)
		return string(b)
	}
	first, err := c.put(key, build("first"), []byte("model {}"), manifest{}, false)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.put(key, build("second"), []byte("model {}"), manifest{}, false)
	if err != nil || second != first || content(second) != "first" {
		t.Fatalf("second put: %s (%q), %v; want the first entry kept", second, content(second), err)
	}
	if forced, err := c.put(key, build("forced"), []byte("model {}"), manifest{}, true); err != nil || content(forced) != "forced" {
		t.Fatalf("forced put: %q, %v; want the entry replaced", content(forced), err)
	}
	os.WriteFile(first, []byte("corrupted"), 0o755)
	if fixed, err := c.put(key, build("fixed"), []byte("model {}"), manifest{}, false); err != nil || content(fixed) != "fixed" {
		t.Fatalf("put over a corrupt entry: %q, %v; want it replaced", content(fixed), err)
	}
	if problem := c.check(c.entryDir(key), key); problem != "" {
		t.Errorf("the entry is unsound: %s", problem)
	}
	if left, _ := os.ReadDir(filepath.Join(c.Dir, "tmp")); len(left) != 0 {
		t.Errorf("staging left %d folders in tmp", len(left))
	}
}
