package cmdstan

import (
	"context"
	"errors"
	"path/filepath"
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
