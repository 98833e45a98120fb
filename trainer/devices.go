// devices.go: the --device values a run accepts.

package trainer

import "github.com/mbpogo/mbpo/gpu"

// validDevice reports whether d is a --device value: auto, cpu, cuda (GPU
// 0) or cuda:N (GPU N). Whether GPU N exists is for the engine to find.
func validDevice(d string) bool {
	_, _, err := gpu.ParseDevice(d)
	return err == nil
}
