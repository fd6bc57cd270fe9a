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
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
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
//
// The lock only saves work; correctness never depends on it, so the cache can live on a
// network filesystem shared by the nodes of a cluster, where flock may not reach across
// nodes or not work at all. An entry appears by one atomic rename of a complete staged
// folder, and a build that finds its key published meanwhile by another process keeps
// that entry and drops its own: two nodes building the same model at once only waste
// time. Only a forced rebuild replaces a sound entry.
type Cache struct {
	// Dir is the cache's root directory.
	Dir string

	// noFlock is set once flock failed as unsupported by the cache's filesystem; builds
	// then go ahead without the lock.
	noFlock atomic.Bool
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
// length-prefixed and in a fixed order, so no two input lists collide. The platform
// (see platform) is one of them, so nodes of a shared cache that cannot run each other's
// builds never share an entry.
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
	put([]byte(platform(makeVars, makeLocal)))
	put([]byte(strconv.Itoa(len(makeVars))))
	for _, v := range makeVars {
		put([]byte(v))
	}
	put(makeLocal)
	put(program)
	return hex.EncodeToString(h.Sum(nil))
}

// nativeFlag matches compiler flags that tune the build to the building machine's CPU.
var nativeFlag = regexp.MustCompile(`-m(arch|cpu|tune)=native`)

// compilerEnv are the environment variables make passes on to the C++ compiler.
var compilerEnv = []string{"CXX", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LDLIBS"}

// platform describes what can make an executable run only where it was built: the OS and
// machine architecture, the C++ compiler make finds (its resolved path and size: Debian's
// g++ resolves to a versioned file), the compiler flags taken from the environment, and,
// when a flag builds for the native CPU (-march=native), that CPU's model and features.
// make/local and the make variables are key inputs of their own.
func platform(makeVars []string, makeLocal []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s", runtime.GOOS, runtime.GOARCH)
	if m, err := os.ReadFile("/proc/sys/kernel/arch"); err == nil {
		fmt.Fprintf(&b, " machine=%s", strings.TrimSpace(string(m)))
	}
	compilers := []string{"g++", "clang++", "c++"}
	if cxx := os.Getenv("CXX"); cxx != "" {
		compilers = []string{cxx}
	}
	for _, c := range compilers {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		size := int64(-1)
		if st, err := os.Stat(p); err == nil {
			size = st.Size()
		}
		fmt.Fprintf(&b, " cxx=%s:%d", p, size)
		break
	}
	flags := strings.Join(makeVars, " ") + "\n" + string(makeLocal)
	for _, v := range compilerEnv {
		if x := os.Getenv(v); x != "" {
			fmt.Fprintf(&b, " %s=%q", v, x)
			flags += "\n" + x
		}
	}
	if nativeFlag.MatchString(flags) {
		fmt.Fprintf(&b, " cpu=%s", cpuID())
	}
	return b.String()
}

// cpuID names the CPU: the model name and a digest of the feature flags from
// /proc/cpuinfo ("unknown" elsewhere).
func cpuID() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	var model, flags string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k = strings.TrimSpace(k); {
		case model == "" && (k == "model name" || k == "CPU part"):
			model = strings.TrimSpace(v)
		case flags == "" && (k == "flags" || k == "Features"):
			flags = strings.TrimSpace(v)
		}
	}
	sum := sha256.Sum256([]byte(flags))
	return fmt.Sprintf("%q flags:%x", model, sum[:8])
}

// manifest describes a cache entry; get checks the executable against it.
type manifest struct {
	Key            string    `json:"key"`
	ExeSHA256      string    `json:"exe_sha256"`
	ExeSize        int64     `json:"exe_size"`
	ProgramSize    int       `json:"program_size"`
	CmdStanVersion string    `json:"cmdstan_version"`
	ToolDigest     string    `json:"tool_digest"`
	Platform       string    `json:"platform,omitempty"`
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
		if flockUnsupported(err) {
			// Some network filesystems have no flock: build without the lock, which only
			// ever saved work (see Cache).
			c.noFlock.Store(true)
			f.Close()
			return func() {}, nil
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

// flockUnsupported reports a flock error that means the filesystem cannot lock at all.
func flockUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.ENOSYS) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL)
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
// manifest, and returns the cached executable's path. A sound entry published meanwhile
// by another process wins over this build unless replace (a forced rebuild) is set. Call
// it with the key's lock held, when there is one.
func (c *Cache) put(key, builtExe string, program []byte, m manifest, replace bool) (string, error) {
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
	for range 3 {
		err := os.Rename(staging, final)
		if err == nil {
			return filepath.Join(final, "model"), nil
		}
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return "", fmt.Errorf("cmdstan: cache: %w", err)
		}
		// An entry is in the way: another process, on another node maybe, published the
		// key since get missed. Its build is as good as ours, and may be running, so keep
		// it; only a forced rebuild, or an unsound entry, is replaced.
		if !replace && c.check(final, key) == "" {
			return filepath.Join(final, "model"), nil
		}
		replace = false
		if err := c.discard(final); err != nil {
			return "", fmt.Errorf("cmdstan: cache: replacing %s: %w", final, err)
		}
	}
	return "", fmt.Errorf("cmdstan: cache: %s keeps being replaced by other builds", final)
}

// discard moves dir aside into <Dir>/tmp, so readers see the old entry or none, never
// half of one, and then removes it.
func (c *Cache) discard(dir string) error {
	old, err := os.MkdirTemp(filepath.Join(c.Dir, "tmp"), "old-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(old)
	if err := os.Rename(dir, filepath.Join(old, "entry")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
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
