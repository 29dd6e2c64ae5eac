package api

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// actions maps the docker routes onto Ops.Action names.
var actions = []struct{ path, action, summary string }{
	{"/service/restart_docker", "restart", "Restart the allocation's container"},
	{"/service/pause_docker", "pause", "Pause the allocation's container"},
	{"/service/unpause_docker", "unpause", "Unpause the allocation's container"},
}

func routeTable() []route {
	rts := []route{
		{path: "/service/allocate_spec", summary: "Allocate the first miner matching a spec", mutating: true,
			req: specSchema(false), resp: allocationSchema, handle: (*Server).allocateSpec},
		{path: "/service/allocate_hotkey", summary: "Allocate a given miner", mutating: true,
			req: specSchema(true), resp: allocationSchema, handle: (*Server).allocateHotkey},
		{path: "/service/deallocate", summary: "End an allocation", mutating: true,
			req: hotkeySchema, resp: deallocateSchema, handle: (*Server).deallocate},
		{path: "/service/check_miner_status", summary: "Probe the SSH port of allocated miners (and ask the miner when it does not answer)",
			req: hotkeysReqSchema, resp: statusSchema, handle: (*Server).checkMinerStatus},
	}
	for _, a := range actions {
		action := a.action
		rts = append(rts, route{path: a.path, summary: a.summary, mutating: true, req: hotkeySchema, resp: actionSchema,
			handle: func(s *Server, ctx context.Context, body []byte) reply {
				var q hotkeyRequest
				if rp := decode(body, &q, false); rp != nil {
					return *rp
				}
				if rp := checkHotkey("hotkey", q.Hotkey); rp != nil {
					return *rp
				}
				return s.action(ctx, q.Hotkey, action, "")
			}})
	}
	rts = append(rts,
		route{path: "/service/exchange_docker_key", summary: "Replace the allocation's SSH public key", mutating: true,
			req: exchangeKeySchema, resp: actionSchema, handle: (*Server).exchangeKey},
		route{path: "/list/allocations_sql", summary: "Allocations held by this renter, with health status",
			resp: allocationsSchema, handle: (*Server).listAllocations},
		route{path: "/list/resources_sql", summary: "All known miners' resources, with their proof-of-GPU verdicts",
			resp: resourcesSchema, params: resourceParams, handleQuery: func(s *Server, ctx context.Context, q url.Values, body []byte) reply {
				return s.listResources(ctx, q, body, false)
			}},
		route{path: "/list/count_all_gpus", summary: "Total GPUs across known miners",
			resp: gpuCountSchema, handle: (*Server).countAllGPUs},
		route{path: "/list/count_all_by_model", summary: "GPU count per model",
			resp: byModelSchema, handle: (*Server).countByModel},
		route{path: "/list/available", summary: "Resources of miners not allocated, with their proof-of-GPU verdicts",
			resp: resourcesSchema, params: resourceParams, handleQuery: func(s *Server, ctx context.Context, q url.Values, body []byte) reply {
				return s.listResources(ctx, q, body, true)
			}},
		route{path: "/list/allocated_hotkeys", summary: "Hotkeys allocated by this renter",
			resp: hotkeysSchema, handle: (*Server).allocatedHotkeys},
	)
	return rts
}

func (s *Server) allocateSpec(ctx context.Context, body []byte) reply {
	var q specRequest
	if rp := decode(body, &q, false); rp != nil {
		return *rp
	}
	if rp := q.check(); rp != nil {
		return *rp
	}
	a, err := s.ops.Allocate(ctx, q.request())
	if err != nil {
		return opsError("allocate", err)
	}
	return reply{status: http.StatusOK, body: toAllocationResponse(a)}
}

func (s *Server) allocateHotkey(ctx context.Context, body []byte) reply {
	var q hotkeySpecRequest
	if rp := decode(body, &q, false); rp != nil {
		return *rp
	}
	if rp := checkHotkey("hotkey", q.Hotkey); rp != nil {
		return *rp
	}
	if rp := q.check(); rp != nil {
		return *rp
	}
	a, err := s.ops.AllocateHotkey(ctx, q.Hotkey, q.request())
	if err != nil {
		return opsError("allocate hotkey", err)
	}
	return reply{status: http.StatusOK, body: toAllocationResponse(a)}
}

func (s *Server) deallocate(ctx context.Context, body []byte) reply {
	var q hotkeyRequest
	if rp := decode(body, &q, false); rp != nil {
		return *rp
	}
	if rp := checkHotkey("hotkey", q.Hotkey); rp != nil {
		return *rp
	}
	if err := s.ops.Deallocate(ctx, q.Hotkey); err != nil {
		return opsError("deallocate", err)
	}
	s.health.forget(q.Hotkey)
	s.emit(ctx, EventEnded, endedData{Hotkey: q.Hotkey, Reason: ReasonDeallocated})
	return reply{status: http.StatusOK, body: deallocateResponse{Hotkey: q.Hotkey, Deallocated: true}}
}

func (s *Server) action(ctx context.Context, hotkey, action, sshKey string) reply {
	if err := s.ops.Action(ctx, hotkey, action, sshKey); err != nil {
		return opsError(action, err)
	}
	switch action {
	case "pause":
		s.health.set(ctx, hotkey, statusPaused)
	case "unpause":
		s.health.set(ctx, hotkey, statusUnknown) // probed again at the next tick
	}
	return reply{status: http.StatusOK, body: actionResponse{Hotkey: hotkey, Action: action, OK: true}}
}

func (s *Server) exchangeKey(ctx context.Context, body []byte) reply {
	var q exchangeKeyRequest
	if rp := decode(body, &q, false); rp != nil {
		return *rp
	}
	if rp := checkHotkey("hotkey", q.Hotkey); rp != nil {
		return *rp
	}
	if rp := checkSSHKey("ssh_key", q.SSHKey, true); rp != nil {
		return *rp
	}
	return s.action(ctx, q.Hotkey, "exchange_key", q.SSHKey)
}

func (s *Server) checkMinerStatus(ctx context.Context, body []byte) reply {
	var q statusRequest
	if rp := decode(body, &q, false); rp != nil {
		return *rp
	}
	if len(q.Hotkeys) == 0 || len(q.Hotkeys) > maxHotkeys {
		return *invalid("hotkeys", "want 1 to 256 hotkeys")
	}
	for _, hk := range q.Hotkeys {
		if rp := checkHotkey("hotkeys", hk); rp != nil {
			return *rp
		}
	}
	infos, err := s.ops.Allocations(ctx)
	if err != nil {
		return opsError("list allocations", err)
	}
	byKey := make(map[string]AllocationInfo, len(infos))
	for _, a := range infos {
		byKey[a.Hotkey] = a
	}
	out := make([]minerStatus, len(q.Hotkeys))
	var wg sync.WaitGroup
	// 256 hotkeys take at most 8 rounds of probe and check (15 s), well
	// within the server's write timeout.
	sem := make(chan struct{}, 32)
	for i, hk := range q.Hotkeys {
		out[i] = minerStatus{Hotkey: hk, Status: "not_allocated"}
		a, ok := byKey[hk]
		if !ok {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i].Status = s.probeStatus(ctx, a)

		})
	}
	wg.Wait()
	return reply{status: http.StatusOK, body: statusResponse{Miners: out}}
}

// probeStatus is "online" when a's SSH port answers; otherwise "paused" when
// the miner says the container is paused, "stopped" when it says it
// stopped it (disk_quota), else "offline".
func (s *Server) probeStatus(ctx context.Context, a AllocationInfo) string {
	if probeSSH(ctx, a.Host, a.Port, probeTimeout) == nil {
		return statusOnline
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if ms, err := s.ops.Check(ctx, a.Hotkey); err == nil && ms.Held {
		switch {
		case ms.State == "paused":
			return statusPaused
		case ms.Reason != "":
			return statusStopped
		}
	}
	return statusOffline
}

// emptyBody accepts an empty body or {} on the list routes.
func emptyBody(body []byte) *reply {
	var q struct{}
	return decode(body, &q, true)
}

func (s *Server) listAllocations(ctx context.Context, body []byte) reply {
	if rp := emptyBody(body); rp != nil {
		return *rp
	}
	infos, err := s.ops.Allocations(ctx)
	if err != nil {
		return opsError("list allocations", err)
	}
	out := make([]allocationItem, 0, len(infos))
	for _, a := range infos {
		out = append(out, allocationItem{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port, Created: a.Created.UTC(),
			Deadline: a.Deadline.UTC(), Status: s.health.status(a.Hotkey)})
	}
	return reply{status: http.StatusOK, body: allocationsResponse{Allocations: out}}
}

func (s *Server) resources(ctx context.Context, body []byte) ([]Resource, *reply) {
	if rp := emptyBody(body); rp != nil {
		return nil, rp
	}
	rs, err := s.ops.Resources(ctx)
	if err != nil {
		rp := opsError("list resources", err)
		return nil, &rp
	}
	return rs, nil
}

// listResources lists the resources (onlyFree: of miners not allocated)
// that the query's verified and verified_model select.
func (s *Server) listResources(ctx context.Context, q url.Values, body []byte, onlyFree bool) reply {
	f, rp := parseResourceFilter(q)
	if rp != nil {
		return *rp
	}
	rs, rp := s.resources(ctx, body)
	if rp != nil {
		return *rp
	}
	out := make([]resourceItem, 0, len(rs))
	for _, r := range rs {
		if onlyFree && r.Allocated || !f.keep(r) {
			continue
		}
		out = append(out, toResourceItem(r))
	}
	return reply{status: http.StatusOK, body: resourcesResponse{Resources: out}}
}

func (s *Server) countAllGPUs(ctx context.Context, body []byte) reply {
	rs, rp := s.resources(ctx, body)
	if rp != nil {
		return *rp
	}
	n := 0
	for _, r := range rs {
		n += r.GPUCount
	}
	return reply{status: http.StatusOK, body: gpuCountResponse{GPUCount: n}}
}

func (s *Server) countByModel(ctx context.Context, body []byte) reply {
	rs, rp := s.resources(ctx, body)
	if rp != nil {
		return *rp
	}
	counts := map[string]int{}
	for _, r := range rs {
		if r.GPUCount > 0 {
			counts[r.GPUName] += r.GPUCount
		}
	}
	out := make([]modelCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, modelCount{GPUName: name, GPUCount: n})
	}
	slices.SortFunc(out, func(a, b modelCount) int {
		return cmp.Or(cmp.Compare(b.GPUCount, a.GPUCount), cmp.Compare(a.GPUName, b.GPUName))
	})
	return reply{status: http.StatusOK, body: byModelResponse{Models: out}}
}

func (s *Server) allocatedHotkeys(ctx context.Context, body []byte) reply {
	if rp := emptyBody(body); rp != nil {
		return *rp
	}
	infos, err := s.ops.Allocations(ctx)
	if err != nil {
		return opsError("list allocations", err)
	}
	out := make([]string, 0, len(infos))
	for _, a := range infos {
		out = append(out, a.Hotkey)
	}
	slices.Sort(out)
	return reply{status: http.StatusOK, body: hotkeysResponse{Hotkeys: out}}
}
