package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPendingCommitsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "validator.db")
	s := openTest(t, path)
	a := PendingCommit{
		Hash: [32]byte{1, 2, 3}, NetUID: 2, Hotkey: "5Hot", UIDs: []uint16{0, 2}, Weights: []uint16{16384, 65535},
		Salt: []uint16{9, 8, 7}, VersionKey: ^uint64(0), CommitBlock: 41, RevealEpoch: 9,
		FirstRevealBlock: 42, LastRevealBlock: 46,
	}
	b := PendingCommit{Hash: [32]byte{4}, NetUID: 2, Hotkey: "5Hot", CommitBlock: 50, RevealEpoch: 3, ByCounter: true, Kind: "hash"}
	other := PendingCommit{Hash: [32]byte{5}, NetUID: 3, Hotkey: "5Hot", CommitBlock: 1}
	for _, c := range []PendingCommit{b, a, other} {
		if err := s.AddPendingCommit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddPendingCommit(ctx, PendingCommit{Hash: [32]byte{6}, Hotkey: "x", UIDs: []uint16{1}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("uids without weights = %v; want ErrInvalidArgument", err)
	}
	s.Close()

	s = openTest(t, path)
	got, err := s.PendingCommits(ctx, 2, "5Hot")
	if err != nil {
		t.Fatal(err)
	}
	a.Kind, a.CreatedAt = "hash", t0
	b.UIDs, b.Weights, b.Salt, b.CreatedAt = []uint16{}, []uint16{}, []uint16{}, t0
	if want := []PendingCommit{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("PendingCommits = %+v;\nwant %+v", got, want)
	}
	if err := s.DeletePendingCommit(ctx, a.Hash); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePendingCommit(ctx, a.Hash); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if got, _ := s.PendingCommits(ctx, 2, "5Hot"); len(got) != 1 || got[0].Hash != b.Hash {
		t.Errorf("after delete: %+v", got)
	}
}
