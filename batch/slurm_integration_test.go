package batch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
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

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
)

// startSlurm starts a one-node Slurm cluster on localhost for the test: munged as the munge
// user with its own key and socket, slurmctld and slurmd in the foreground, every file under
// a temp folder, no accounting. It points SLURM_CONF at it, waits for the node to be idle,
// and tears it all down when the test ends. It skips, in one line, when the daemons are not
// installed or the test does not run as root.
func startSlurm(t *testing.T) {
	t.Helper()
	var missing []string
	for _, name := range []string{"slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel", "sinfo"} {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Skipf("Slurm or munge not installed (no %s), skipping the Slurm integration test (apt-get install slurm-wlm munge)", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		t.Skip("not root, skipping the Slurm integration test: it starts its own slurmctld, slurmd and munged")
	}
	mu, err := user.Lookup("munge")
	if err != nil {
		t.Skipf("no munge user, skipping the Slurm integration test: %v", err)
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)

	dir, err := os.MkdirTemp("", "dsamstan-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	mdir := filepath.Join(dir, "munge")
	for _, d := range []string{mdir, filepath.Join(dir, "state"), filepath.Join(dir, "spool"), filepath.Join(dir, "log")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 1024)
	rand.Read(key)
	keyPath := filepath.Join(mdir, "munge.key")
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{mdir, keyPath} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	socket := filepath.Join(mdir, "munge.socket")
	logs := map[string]string{}
	daemon := func(name string, cred *syscall.Credential, args ...string) {
		t.Helper()
		logf := filepath.Join(dir, "log", name+".out")
		f, err := os.Create(logf)
		if err != nil {
			t.Fatal(err)
		}
		logs[name] = logf
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.Env = append(os.Environ(), "SLURM_CONF="+filepath.Join(dir, "slurm.conf"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			f.Close()
		})
	}
	daemon("munged", &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, "--foreground", "--force",
		"--key-file="+keyPath, "--socket="+socket, "--pid-file="+filepath.Join(mdir, "munged.pid"),
		"--log-file="+filepath.Join(mdir, "munged.log"), "--seed-file="+filepath.Join(mdir, "munged.seed"))
	waitFor(t, 10*time.Second, "munged's socket", logs, func() bool { _, err := os.Stat(socket); return err == nil })

	memMB := 1024
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.Atoi(f[1]); err == nil && kb/1024 > 2048 {
					memMB = kb/1024 - 1024
				}
			}
		}
	}
	conf := filepath.Join(dir, "slurm.conf")
	p := func(name string) string { return filepath.Join(dir, name) }
	body := fmt.Sprintf(`ClusterName=dsamstantest
SlurmctldHost=localhost
SlurmctldPort=%d
SlurmdPort=%d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%s
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
StateSaveLocation=%s
SlurmdSpoolDir=%s
SlurmctldPidFile=%s
SlurmdPidFile=%s
SlurmctldLogFile=%s
SlurmdLogFile=%s
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=%d State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`, freePort(t), freePort(t), socket, p("state"), p("spool"), p("slurmctld.pid"), p("slurmd.pid"),
		p("log/slurmctld.log"), p("log/slurmd.log"), memMB)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", conf)
	logs["slurmctld.log"], logs["slurmd.log"] = p("log/slurmctld.log"), p("log/slurmd.log")
	daemon("slurmctld", nil, "-D", "-f", conf)
	daemon("slurmd", nil, "-D", "-N", "localhost", "-f", conf)
	waitFor(t, 30*time.Second, "the node to be idle", logs, func() bool {
		out, _ := exec.Command("sinfo", "--noheader", "--Node", "--format=%T").Output()
		return strings.TrimSpace(string(out)) == "idle"
	})
}

// waitFor polls ok until it holds, failing the test after d with the daemons' log tails.
func waitFor(t *testing.T, d time.Duration, what string, logs map[string]string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	var b strings.Builder
	for name, p := range logs {
		data, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- %s:\n%s\n", name, strings.Join(lines[max(0, len(lines)-10):], "\n"))
	}
	t.Fatalf("timed out waiting for %s\n%s", what, b.String())
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestIntegrationSlurm runs a batch of three small fits, one with a broken config, as a job
// array on a real one-node Slurm with the real CmdStan: the broken run is reported failed
// with its reason; once fixed, --resume runs it alone; the model compiles at most once.
func TestIntegrationSlurm(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Slurm integration test")
	}
	if _, err := cmdstan.Find(""); err != nil {
		t.Skipf("CmdStan not found, skipping the Slurm integration test: %v", err)
	}
	startSlurm(t)
	bin := filepath.Join(t.TempDir(), "dsamstan")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dsamstan/dsamstan/cmd/dsamstan").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfgs := exampleConfigs(t, "a", "b", "c")
	for _, c := range cfgs {
		b, _ := os.ReadFile(c)
		s := strings.NewReplacer("iter: 2000", "iter: 400", "warmup: 1000", "warmup: 200").Replace(string(b))
		os.WriteFile(c, []byte(s), 0o644)
	}
	breakConfig(t, cfgs[1])
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "batch")
	opts := Options{Configs: cfgs, Executor: Slurm, Out: out, Jobs: 2, Binary: bin, Poll: time.Second,
		Slurm: SlurmOptions{Time: SlurmTime(10 * time.Minute)}, Stdout: &stdout, Stderr: &stderr}
	start := time.Now()
	err := Run(context.Background(), opts)
	t.Logf("first batch: %.0fs\n%s%s", time.Since(start).Seconds(), stdout.String(), stderr.String())
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 || fe.Total != 3 {
		t.Fatalf("Run: %v; want 1 of 3 runs failed", err)
	}
	rows := readSummary(t, out)
	for i, want := range []string{Completed, Failed, Completed} {
		if rows[i]["status"] != want {
			t.Errorf("run %d: %q (%s); want %q", i, rows[i]["status"], rows[i]["reason"], want)
		}
	}
	if r := rows[1]["reason"]; !strings.Contains(r, "FAILED") || !strings.Contains(r, "missing.csv") {
		t.Errorf("the broken run's reason %q does not give Slurm's state and the run's error", r)
	}
	if rows[0]["elpd_loo"] == "" || rows[0]["verdict"] == "" {
		t.Errorf("a completed run lacks its figures: %v", rows[0])
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	first := m.Runs[0].JobID
	stamp := func(r *Entry) time.Time {
		st, err := os.Stat(filepath.Join(r.RunDir, runfolder.StageMetadata, runfolder.RunJSON))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	a0 := stamp(m.Runs[0])

	b, _ := os.ReadFile(cfgs[1])
	os.WriteFile(cfgs[1], bytes.Replace(b, []byte("missing.csv"), []byte("data.csv"), 1), 0o644)
	stdout.Reset()
	start = time.Now()
	if err := Resume(context.Background(), out, Options{Binary: bin, Poll: time.Second, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("Resume: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	t.Logf("resume: %.0fs\n%s", time.Since(start).Seconds(), stdout.String())
	m, _ = Load(out)
	if len(m.Submissions) != 2 || m.Submissions[1].Array != "1%2" {
		t.Errorf("submissions %+v; want the second to be task 1 alone", m.Submissions)
	}
	if m.Runs[0].JobID != first || m.Runs[2].JobID != first || m.Runs[1].JobID == first {
		t.Errorf("job ids after resume: %s %s %s (first array %s)", m.Runs[0].JobID, m.Runs[1].JobID, m.Runs[2].JobID, first)
	}
	if !stamp(m.Runs[0]).Equal(a0) {
		t.Error("resume reran a completed run")
	}
	compiles, keys := 0, map[string]bool{}
	for _, r := range m.Runs {
		info, err := runfolder.ReadRunInfo(runfolder.Detect(r.RunDir))
		if err != nil {
			t.Fatal(err)
		}
		if info.Status != runfolder.StatusCompleted {
			t.Errorf("%s: %s", r.Name(), info.Status)
		}
		if info.CompileCacheHit != nil && !*info.CompileCacheHit {
			compiles++
		}
		keys[info.CompileKey] = true
	}
	if compiles > 1 || len(keys) != 1 {
		t.Errorf("%d compiles of %d models for three runs of one model; want at most one compile of one", compiles, len(keys))
	}
}
