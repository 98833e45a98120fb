// engine.go: choosing the numerical engine from --device.
package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/engine/cpu"
)

// selectEngine returns the engine --device asks for and logs which one runs
// and why: auto takes a usable GPU and otherwise the CPU, cpu never touches
// the GPU driver, cuda fails where no GPU engine can run.
func selectEngine(device string, threads int, log zerolog.Logger) (engine.Engine, error) {
	switch device {
	case "auto", "cpu", "cuda":
	default:
		return nil, usagef("--device %q: want auto, cpu or cuda", device)
	}
	dev, why, err := gpu.Select(device)
	if err != nil {
		return nil, err
	}
	if dev != nil {
		name := dev.Info().Name
		dev.Close()
		// The GPU runtime is in place; the GPU training engine (ensemble,
		// rollouts and SAC kernels) is not part of this build yet.
		if device == "cuda" {
			return nil, fmt.Errorf("--device cuda: found %s, but this build has no GPU training engine yet; use --device cpu (or auto)", name)
		}
		why = fmt.Sprintf("found %s, but this build has no GPU training engine yet: using the CPU engine", name)
	}
	eng := cpu.New(cpu.Options{Threads: threads})
	log.Info().Str("engine", eng.Name()).Msg(why)
	return eng, nil
}
