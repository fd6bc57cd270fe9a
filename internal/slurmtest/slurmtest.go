// Package slurmtest is test support for the Slurm executors (dsamstan batch, calibrate and
// run --executor slurm), like net/http/httptest: only tests import it. Start starts a real
// one-node Slurm cluster on localhost for integration tests; Fake plays sbatch, squeue,
// scontrol and scancel for unit tests.
package slurmtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
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
)

// Start starts a one-node Slurm cluster on localhost for the test: munged as the munge
// user with its own key and socket, slurmctld and slurmd in the foreground, every file under
// a temp folder, no accounting. It points SLURM_CONF at it, waits for the node to be idle,
// and tears it all down when the test ends. It skips, in one line, when the daemons are not
// installed or the test does not run as root.
func Start(t *testing.T) {
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
