package docker

import (
	"errors"
	"fmt"
	"strconv"
)

// Default limits of a container: Heroku's standard dyno, as the sandbox
// gives a process that runs on the host.
const (
	DefaultMemory = 512 << 20 // bytes
	DefaultCPU    = 1.0       // cores
	DefaultTasks  = 256       // processes and threads
)

// buildMemory bounds the memory of each step of an image build, as the
// sandbox bounds a native build's.
const buildMemory = 4 << 30

// minMemory is the least memory the engines accept for a container.
const minMemory = 6 << 20

// Limits bound what one container may use. A zero field takes its
// default: a container never runs without limits.
type Limits struct {
	Memory int64   // bytes; 0 = DefaultMemory
	CPU    float64 // cores; 0 = DefaultCPU
	Tasks  int     // processes and threads; 0 = DefaultTasks
}

// WithDefaults is l with each zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.Memory == 0 {
		l.Memory = DefaultMemory
	}
	if l.CPU == 0 {
		l.CPU = DefaultCPU
	}
	if l.Tasks == 0 {
		l.Tasks = DefaultTasks
	}
	return l
}

// Validate names the first limit an engine cannot apply.
func (l Limits) Validate() error {
	switch {
	case l.Memory != 0 && l.Memory < minMemory:
		return fmt.Errorf("memory limit %d bytes: give at least %d (6 MiB)", l.Memory, minMemory)
	case l.CPU < 0 || l.CPU > 1024:
		return fmt.Errorf("CPU limit %g: give a number of cores above 0", l.CPU)
	case l.Tasks < 0:
		return errors.New("tasks limit: give a number of processes above 0")
	}
	return nil
}

// Args are the flags of `nua container-run` that give it l.
func (l Limits) Args() []string {
	l = l.WithDefaults()
	return []string{
		"--memory=" + strconv.FormatInt(l.Memory, 10),
		"--cpu=" + strconv.FormatFloat(l.CPU, 'f', -1, 64),
		"--tasks=" + strconv.Itoa(l.Tasks),
	}
}

// hostConfigFor is the host's side of an app's container: its limits
// (memory without swap, CPU time, tasks), no new privileges, every
// capability dropped (an app listens on a high port and runs as whoever
// the image says; none needs one), an init reaping its zombies. It
// publishes no port and mounts nothing.
func hostConfigFor(l Limits) hostConfig {
	l = l.WithDefaults()
	return hostConfig{
		Init:        true,
		Memory:      l.Memory,
		MemorySwap:  l.Memory,
		NanoCpus:    int64(l.CPU * 1e9),
		PidsLimit:   int64(l.Tasks),
		SecurityOpt: []string{"no-new-privileges"},
		CapDrop:     []string{"ALL"},
	}
}
