// race_test.go records that the tests run under the race detector.

//go:build race

package env

const raceEnabled = true
