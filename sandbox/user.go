package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Account is a Unix user a task may run as.
type Account struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
}

// LookupAccount resolves a user name with its primary and supplementary
// groups.
func LookupAccount(name string) (*Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("task user %q does not exist: create it (useradd --system --no-create-home --shell /usr/sbin/nologin %s) or name another", name, name)
		}
		return nil, fmt.Errorf("task user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("task user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("task user %q: gid %q: %w", name, u.Gid, err)
	}
	a := &Account{Name: name, UID: uint32(uid), GID: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				a.Groups = append(a.Groups, uint32(g))
			}
		}
	}
	if a.UID == 0 {
		return nil, fmt.Errorf("task user %q is root: tasks must not run as root", name)
	}
	return a, nil
}

// canSwitchUsers reports whether this process may run children as another
// user: it holds CAP_SETUID and CAP_SETGID (root normally does).
func canSwitchUsers() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return os.Geteuid() == 0
			}
			const capSetgid, capSetuid = 6, 7
			return caps&(1<<capSetgid) != 0 && caps&(1<<capSetuid) != 0
		}
	}
	return os.Geteuid() == 0
}
