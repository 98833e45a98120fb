// devices.go: --devices of mbpo sweep (the GPUs a sweep's cells are spread
// over) and the check that the GPUs a command names exist here.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/gpu"
)

// parseDevices reads --devices, GPU numbers separated by commas ("0,1,2,3"),
// as the --device values cuda:0, cuda:1, ...
func parseDevices(s string) ([]string, error) {
	var devices []string
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--devices %q: want GPU numbers from 0, separated by commas (e.g. 0,1,2,3)", s)
		}
		if seen[n] {
			return nil, fmt.Errorf("--devices %q: GPU %d is listed twice (use --parallel for several cells on a GPU)", s, n)
		}
		seen[n] = true
		devices = append(devices, "cuda:"+strconv.Itoa(n))
	}
	return devices, nil
}

// checkDevices reports, as a usage error, a GPU of devices (--device values)
// that the driver here does not have, naming those it has. A machine without
// a usable driver is the error gpu.Open gives.
func checkDevices(flag string, devices []string) error {
	var ordinals []int
	for _, d := range devices {
		if kind, n, err := gpu.ParseDevice(d); err == nil && kind == gpu.DeviceCUDA {
			ordinals = append(ordinals, n)
		}
	}
	if len(ordinals) == 0 {
		return nil
	}
	count, err := gpu.Options{}.Count()
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	for _, n := range ordinals {
		if n >= count {
			return usageError{fmt.Sprintf("%s: %v", flag, &gpu.OrdinalError{Ordinal: n, Count: count})}
		}
	}
	return nil
}

// usageIfNoSuchGPU turns gpu's error for a GPU number the driver lacks
// (--device cuda:9 on a machine with 4) into a usage error: the command
// line was wrong, and nothing was written.
func usageIfNoSuchGPU(err error) error {
	var oe *gpu.OrdinalError
	if errors.As(err, &oe) {
		return usageError{err.Error()}
	}
	return err
}
