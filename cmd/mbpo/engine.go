// engine.go: choosing the numerical engine from --device.
package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/engine/cpu"
	"github.com/mbpogo/mbpo/trainer/engine/cuda"
)

// selectEngine returns the engine --device asks for and logs which one runs
// and why: auto takes a usable GPU (the cuda engine) and otherwise the CPU,
// cpu never touches the GPU driver, cuda fails where the GPU engine cannot
// run. threads sizes the CPU engine.
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
		name := dev.Info().String()
		eng, err := cuda.Open(dev)
		if err == nil {
			log.Info().Str("engine", eng.Name()).Msg(why)
			return eng, nil
		}
		dev.Close()
		if device == "cuda" {
			return nil, fmt.Errorf("--device cuda: %s: the GPU engine cannot start: %w", name, err)
		}
		why = fmt.Sprintf("found %s, but the GPU engine cannot start (%v): using the CPU engine", name, err)
	}
	eng := cpu.New(cpu.Options{Threads: threads})
	log.Info().Str("engine", eng.Name()).Msg(why)
	return eng, nil
}
