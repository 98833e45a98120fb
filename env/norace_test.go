// norace_test.go records that the tests run without the race detector.

//go:build !race

package env

const raceEnabled = false
