package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestChromiumStops runs this test binary as a benchmark that has started
// "Chromium" (a script that records its pid and sleeps), ends it the ways
// a user does (SIGKILL, Ctrl-C, closing the pipe it prints to), and checks
// that the browser process is gone within seconds each time.
func TestChromiumStops(t *testing.T) {
	if os.Getenv("BENCH_CHILD_PIDFILE") != "" {
		t.Skip("the helper process runs in TestChromiumHelper")
	}
	for _, how := range []string{"kill", "interrupt", "pipe"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			fake := filepath.Join(dir, "chromium")
			pidfile := filepath.Join(dir, "pid")
			if err := os.WriteFile(fake, []byte("#!/bin/sh\necho $$ > \"$BENCH_CHILD_PIDFILE\"\nexec sleep 60\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestChromiumHelper$")
			cmd.Env = append(os.Environ(), "BENCH_CHILD_PIDFILE="+pidfile, "BENCH_FAKE_CHROMIUM="+fake)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			r := bufio.NewReader(out)
			if _, err := r.ReadString('\n'); err != nil { // "started"
				t.Fatal(err)
			}
			pid := 0
			for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				b, _ := os.ReadFile(pidfile)
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			if pid == 0 || !alive(pid) {
				t.Fatalf("the fake Chromium did not start (pid %d)", pid)
			}
			switch how {
			case "kill":
				cmd.Process.Kill()
			case "interrupt":
				cmd.Process.Signal(os.Interrupt)
			case "pipe":
				out.Close() // the helper's next line of output meets a closed pipe
			}
			cmd.Wait()
			for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("%s: Chromium (pid %d) still runs 5 s after the benchmark ended", how, pid)
				}
			}
		})
	}
}

// TestChromiumHelper is the benchmark process of TestChromiumStops: it
// starts the fake Chromium as the benchmark does, then prints a line a
// tenth of a second until it is ended.
func TestChromiumHelper(t *testing.T) {
	fake := os.Getenv("BENCH_FAKE_CHROMIUM")
	if fake == "" {
		t.Skip("run by TestChromiumStops")
	}
	stop, err := startChromium(config{chromium: fake}, "about:blank", make(chan string, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fmt.Println("started")
	for i := 0; i < 300; i++ {
		time.Sleep(100 * time.Millisecond)
		fmt.Println("running", i)
	}
}

// alive reports whether pid is a running process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
