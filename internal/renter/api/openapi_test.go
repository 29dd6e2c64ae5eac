package api

import (
	"encoding/json"
	"net/http"
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
		if _, ok := doc.Paths[p]["post"]; !ok {
			t.Errorf("openapi.json lacks POST %s", p)
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
