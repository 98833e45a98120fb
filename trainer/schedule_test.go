package trainer

import "testing"

func TestScheduleK(t *testing.T) {
	hopper := Schedule{20, 150, 1, 15}
	tests := []struct {
		s     Schedule
		epoch int
		want  int
	}{
		{hopper, 0, 1},
		{hopper, 20, 1},
		{hopper, 21, 1},   // 1 + 14·1/130 = 1.107 → 1
		{hopper, 30, 2},   // 1 + 14·10/130 = 2.08 → 2
		{hopper, 85, 8},   // 1 + 14·65/130 = 8
		{hopper, 149, 14}, // 1 + 14·129/130 = 14.89 → 14
		{hopper, 150, 15},
		{hopper, 400, 15},
		{Schedule{20, 100, 1, 25}, 60, 13}, // Ant: 1 + 24·40/80 = 13
		{Schedule{20, 300, 1, 20}, 300, 20},
		{Schedule{0, 0, 5, 5}, 0, 5}, // fixed k
		{Schedule{0, 0, 5, 5}, 99, 5},
		{Schedule{10, 10, 1, 7}, 10, 1}, // a step schedule: kmin through a, kmax after
		{Schedule{10, 10, 1, 7}, 11, 7},
	}
	for _, tt := range tests {
		if got := tt.s.K(tt.epoch); got != tt.want {
			t.Errorf("%v.K(%d) = %d, want %d", tt.s, tt.epoch, got, tt.want)
		}
	}
}

func TestModelBufferCapacity(t *testing.T) {
	tests := []struct {
		name                                        string
		retain, k, batch, epochLen, trainFreq, want int
	}{
		{"Hopper k=1", 1, 1, 100_000, 1000, 250, 400_000},
		{"Hopper k=15", 1, 15, 100_000, 1000, 250, 6_000_000},
		{"Humanoid k=20", 5, 20, 100_000, 1000, 1000, 10_000_000},
		{"small", 2, 3, 500, 1000, 500, 6000},
	}
	for _, tt := range tests {
		if got := ModelBufferCapacity(tt.retain, tt.k, tt.batch, tt.epochLen, tt.trainFreq); got != tt.want {
			t.Errorf("%s: capacity %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestScheduleMaxK(t *testing.T) {
	for _, s := range []Schedule{{20, 150, 1, 15}, {20, 100, 1, 25}, {5, 10, 4, 2}, {0, 0, 3, 3}} {
		longest := 0
		for epoch := 0; epoch < 400; epoch++ {
			longest = max(longest, s.K(epoch))
		}
		if s.MaxK() != longest {
			t.Errorf("%v: MaxK %d, the longest k over 400 epochs %d", s, s.MaxK(), longest)
		}
	}
}
