package main

import (
	"os/exec"
	"syscall"
)

// childAttr puts a child in a process group of its own and asks the kernel
// to kill it when the thread that started it dies (Go keeps its threads
// for the life of the program, so in effect: when this program dies).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills a child started with childAttr and every process of its
// group (Chromium's renderer, GPU and utility processes).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Process.Kill()
}
