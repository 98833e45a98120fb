// engine.go: choosing the numerical engine from --device.
package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/gpu"
)

// selectEngine returns the engine --device asks for and logs which one runs
// and why: auto takes a usable GPU (the cuda engine) and otherwise the CPU,
// cpu never touches the GPU driver, cuda (GPU 0) and cuda:N (GPU N) fail
// where the GPU engine cannot run, and a GPU number the machine lacks is a
// usage error naming the GPUs it has. threads sizes the CPU engine.
func selectEngine(device string, threads int, log zerolog.Logger) (engine.Engine, error) {
	kind, _, err := gpu.ParseDevice(device)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	dev, why, err := gpu.Select(device)
	if err != nil {
		return nil, usageIfNoSuchGPU(err)
	}
	if dev != nil {
		name := dev.Info().String()
		eng, err := cuda.Open(dev)
		if err == nil {
			log.Info().Str("engine", eng.Name()).Msg(why)
			return eng, nil
		}
		dev.Close()
		if kind == gpu.DeviceCUDA {
			return nil, fmt.Errorf("--device %s: %s: the GPU engine cannot start: %w", device, name, err)
		}
		why = fmt.Sprintf("found %s, but the GPU engine cannot start (%v): using the CPU engine", name, err)
	}
	eng := cpu.New(cpu.Options{Threads: threads})
	log.Info().Str("engine", eng.Name()).Msg(why)
	return eng, nil
}
