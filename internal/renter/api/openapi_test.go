package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.p.httpClient(nil).Get(e.ts.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	want := []string{"/service/allocate_spec", "/service/allocate_hotkey", "/service/deallocate", "/service/check_miner_status",
		"/service/restart_docker", "/service/pause_docker", "/service/unpause_docker", "/service/exchange_docker_key",
		"/list/allocations_sql", "/list/resources_sql", "/list/count_all_gpus", "/list/count_all_by_model", "/list/available",
		"/list/allocated_hotkeys"}
	for _, p := range want {
		post, ok := doc.Paths[p]["post"].(map[string]any)
		if !ok {
			t.Errorf("openapi.json lacks POST %s", p)
			continue
		}
		responses, _ := post["responses"].(map[string]any)
		for _, code := range []string{"200", "400", "401", "404", "409", "413", "422", "500"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("POST %s does not document %s", p, code)
			}
		}
	}
	// Error codes a renter may meet are documented.
	raw, _ := json.Marshal(doc.Paths["/service/allocate_hotkey"])
	for _, code := range []string{"no_match", "unknown_hotkey", "not_allocated", "already_allocated", "refused",
		"invalid_request", "idempotency_key_reused"} {
		if !strings.Contains(string(raw), code) {
			t.Errorf("allocate_hotkey does not document %s", code)
		}
	}
	// So is the paused status.
	for _, p := range []string{"/service/check_miner_status", "/list/allocations_sql"} {
		raw, _ := json.Marshal(doc.Paths[p])
		if !strings.Contains(string(raw), `"paused"`) {
			t.Errorf("%s does not document the paused status", p)
		}
	}
	for _, p := range []string{"/healthz", "/openapi.json"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("openapi.json lacks GET %s", p)
		}
	}
	if len(doc.Paths) != len(want)+2 {
		t.Errorf("openapi.json has %d paths; want %d", len(doc.Paths), len(want)+2)
	}
	r, err := e.p.httpClient(nil).Get(e.ts.URL + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("healthz = %v %v", r, err)
	}
	r.Body.Close()
}
