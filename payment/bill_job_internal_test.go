package payment

import (
	"testing"
	"time"
)

func TestDailyScheduleNext(t *testing.T) {
	t.Parallel()
	s := dailySchedule{at: 10 * time.Hour}
	day, _ := ParseBillDate("2026-02-28")
	for _, tt := range []struct{ now, want time.Time }{
		{day.Start(), day.Start().Add(10 * time.Hour)},
		{day.Start().Add(9*time.Hour + 59*time.Minute), day.Start().Add(10 * time.Hour)},
		{day.Start().Add(10 * time.Hour), day.AddDays(1).Start().Add(10 * time.Hour)},
		{day.Start().Add(23 * time.Hour), day.AddDays(1).Start().Add(10 * time.Hour)},
		// 02:30 UTC is 10:30 Beijing: the next run is tomorrow's.
		{time.Date(2026, 2, 28, 2, 30, 0, 0, time.UTC), time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)},
		// 20:00 UTC is 04:00 Beijing the next day: today's run is ahead.
		{time.Date(2026, 2, 28, 20, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)},
	} {
		if got := s.Next(tt.now); !got.Equal(tt.want) {
			t.Errorf("Next(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}
