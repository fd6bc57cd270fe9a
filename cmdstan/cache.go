package cmdstan

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// keyMnemonic is the first input of every cache key; change it when the layout of
// a cache entry or the way a model is built changes, so old entries are not reused.
const keyMnemonic = "dsamstan-compile-v1"

// Cache is the content-addressed store of compiled model executables. Entry
// <Dir>/<xx>/<key>/ holds the executable "model", the program "model.stan" and
// "manifest.json"; xx is the key's first two hex digits. Entries are staged under
// <Dir>/tmp and renamed into place, checked against their manifest on every read,
// and a per-key lock file under <Dir>/locks stops two processes building the same
// key at once.
type Cache struct {
	// Dir is the cache's root directory.
	Dir string
}

// DefaultCacheDir returns $DSAMSTAN_CACHE when set, else dsamstan's folder in the
// user cache directory (~/.cache/dsamstan on Linux).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("DSAMSTAN_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cmdstan: no cache directory: %w (set DSAMSTAN_CACHE)", err)
	}
	return filepath.Join(d, "dsamstan"), nil
}

// OpenCache opens (creating it if needed) the cache in dir, or in DefaultCacheDir
// when dir is empty.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cmdstan: cache %s: %w", dir, err)
	}
	for _, sub := range []string{"tmp", "locks"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("cmdstan: cannot create the compile cache: %w (set DSAMSTAN_CACHE to a writable folder)", err)
		}
	}
	return &Cache{Dir: abs}, nil
}

// cacheKey hashes every input that can change the built executable, each
// length-prefixed and in a fixed order, so no two input lists collide.
func cacheKey(toolDigest, cmdstanVersion string, makeVars []string, makeLocal, program []byte) string {
	h := sha256.New()
	put := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put([]byte(keyMnemonic))
	put([]byte(toolDigest))
	put([]byte(cmdstanVersion))
	put([]byte(strconv.Itoa(len(makeVars))))
	for _, v := range makeVars {
		put([]byte(v))
	}
	put(makeLocal)
	put(program)
	return hex.EncodeToString(h.Sum(nil))
}

// manifest describes a cache entry; get checks the executable against it.
type manifest struct {
	Key            string    `json:"key"`
	ExeSHA256      string    `json:"exe_sha256"`
	ExeSize        int64     `json:"exe_size"`
	ProgramSize    int       `json:"program_size"`
	CmdStanVersion string    `json:"cmdstan_version"`
	ToolDigest     string    `json:"tool_digest"`
	CompileSeconds float64   `json:"compile_seconds"`
	Created        time.Time `json:"created"`
}

func (c *Cache) entryDir(key string) string {
	return filepath.Join(c.Dir, key[:2], key)
}

// lock takes the key's lock file, waiting while another process or goroutine holds
// it, until ctx is done. onWait is called once if the lock is busy. The returned
// function releases the lock.
func (c *Cache) lock(ctx context.Context, key string, onWait func()) (unlock func(), err error) {
	path := filepath.Join(c.Dir, "locks", key+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cmdstan: cache lock: %w", err)
	}
	// Poll with a non-blocking flock: a blocking flock cannot be cancelled.
	wait := 10 * time.Millisecond
	for first := true; ; first = false {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("cmdstan: cache lock %s: %w", path, err)
		}
		if first && onWait != nil {
			onWait()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// get returns the executable of the key's entry, or "" on a miss. An entry that
// does not match its manifest is removed and reported in evicted, and counts as a
// miss. Call it with the key's lock held.
func (c *Cache) get(key string) (exe, evicted string, err error) {
	dir := c.entryDir(key)
	problem := c.check(dir, key)
	if problem == "" {
		return filepath.Join(dir, "model"), "", nil
	}
	if problem == "missing" {
		return "", "", nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", "", fmt.Errorf("cmdstan: cache entry %s is corrupt (%s) and cannot be removed: %w", dir, problem, err)
	}
	return "", problem, nil
}

// check returns "" when the entry in dir is sound, "missing" when there is none,
// and otherwise what is wrong with it.
func (c *Cache) check(dir, key string) string {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return "missing"
		}
		return "no manifest"
	}
	if err != nil {
		return err.Error()
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "unreadable manifest: " + err.Error()
	}
	if m.Key != key {
		return "manifest is for key " + m.Key
	}
	f, err := os.Open(filepath.Join(dir, "model"))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 {
		return "executable is not a regular executable file"
	}
	if st.Size() != m.ExeSize {
		return fmt.Sprintf("executable is %d bytes, manifest says %d", st.Size(), m.ExeSize)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.ExeSHA256 {
		return "executable's sha256 " + sum[:12] + "… does not match the manifest's " + m.ExeSHA256
	}
	return ""
}

// put copies the executable built for key into the cache, with the program and a
// manifest, replacing any entry there, and returns the cached executable's path.
// Call it with the key's lock held.
func (c *Cache) put(key, builtExe string, program []byte, m manifest) (string, error) {
	staging, err := os.MkdirTemp(filepath.Join(c.Dir, "tmp"), key[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op once renamed into place
	h := sha256.New()
	size, err := copyFile(filepath.Join(staging, "model"), builtExe, 0o755, h)
	if err != nil {
		return "", fmt.Errorf("cmdstan: cache: storing the executable: %w", err)
	}
	m.Key = key
	m.ExeSHA256 = hex.EncodeToString(h.Sum(nil))
	m.ExeSize = size
	m.ProgramSize = len(program)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(staging, "model.stan"), program, 0o644); err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	if err := os.WriteFile(filepath.Join(staging, "manifest.json"), append(mj, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	final := c.entryDir(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	if err := os.RemoveAll(final); err != nil { // a forced rebuild replaces the entry
		return "", fmt.Errorf("cmdstan: cache: replacing %s: %w", final, err)
	}
	if err := os.Rename(staging, final); err != nil {
		return "", fmt.Errorf("cmdstan: cache: %w", err)
	}
	return filepath.Join(final, "model"), nil
}

// copyFile copies src to a new file dst with the given mode, feeding the bytes to h,
// and syncs it. It returns the number of bytes copied.
func copyFile(dst, src string, mode fs.FileMode, h hash.Hash) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
