// SPDX-License-Identifier: MIT
//
// Test program: a Go program linked against libc through cgo, so that LD_PRELOAD applies
// to it. Go's runtime installs its signal handlers through libc's sigaction (cgo) and
// adopts the alternate signal stack it finds on a thread (the raw system call, which no
// wrapper sees); its handlers must then run on that stack. It takes the signals a Go
// program takes: SIGCHLD from 5 exec'd children, SIGURG from the preemption of 4
// CPU-bound goroutines for 300 ms, and a SIGUSR1 it sends itself through signal.Notify;
// and its C code waits on a pthread mutex another thread holds.
// Prints "exec=5", "usr1=1", "c_waits=1" and "ok"; exits 0.
package main

/*
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	usleep(20000);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int c_wait(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, holder, NULL))
		return 0;
	usleep(5000);
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	return 1;
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	n := 0
	for i := 0; i < 5; i++ {
		if err := exec.Command("true").Run(); err == nil {
			n++
		}
	}
	fmt.Printf("exec=%d\n", n)

	var wg sync.WaitGroup
	sum := make([]int, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for t := time.Now(); time.Since(t) < 300*time.Millisecond; {
				sum[g]++
			}
		}(g)
	}
	wg.Wait()

	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	got := 0
	select {
	case <-ch:
		got = 1
	case <-time.After(10 * time.Second):
	}
	fmt.Printf("usr1=%d\n", got)
	fmt.Printf("c_waits=%d\n", int(C.c_wait()))
	fmt.Println("ok")
}
