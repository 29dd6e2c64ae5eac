package allocation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ProbeSSH connects to host:port and reads the SSH identification line,
// which must start with "SSH-2.0" (or "SSH-1.99", a 2.0-compatible server).
func ProbeSSH(ctx context.Context, host string, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	// RFC 4253 allows other lines before the identification; read a few.
	br := bufio.NewReaderSize(c, 256)
	for range 5 {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("read ssh banner: %w", err)
		}
		s := string(line)
		if strings.HasPrefix(s, "SSH-2.0-") || strings.HasPrefix(s, "SSH-1.99-") {
			return nil
		}
		if strings.HasPrefix(s, "SSH-") {
			return fmt.Errorf("unsupported ssh version %q", strings.TrimSpace(s))
		}
	}
	return errors.New("no ssh banner")
}
