package printers

import (
	"encoding/json"
	"testing"
	"time"
)

func TestReceiptJSONLeavesOutZeroFinishAt(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		r    Receipt
		want string
	}{
		{Receipt{UpstreamID: "7"}, `{"upstream_id":"7"}`},
		{Receipt{Done: true, FinishAt: at}, `{"done":true,"finish_at":"2026-11-23T12:00:00Z"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.r)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tt.r, b, err, tt.want)
		}
	}
}
