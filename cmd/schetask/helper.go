package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/schetask/schetask/taskhelper"
)

// runHelperCommand is `schetask notify <message>` and `schetask publish
// <target>...`, for tasks in any language: it talks to the run's task
// helper socket and prints the JSON response.
func runHelperCommand(ctx context.Context, op string, args []string) error {
	req := taskhelper.Request{Op: op}
	switch op {
	case taskhelper.OpNotify:
		if len(args) == 0 {
			return errors.New("usage: schetask notify <message> (or - to read it from stdin)")
		}
		req.Message = strings.Join(args, " ")
		if req.Message == "-" {
			b, err := readAll(os.Stdin)
			if err != nil {
				return err
			}
			req.Message = b
		}
	case taskhelper.OpPublish:
		if len(args) == 0 {
			return errors.New("usage: schetask publish <target>... (e.g. schetask publish prod)")
		}
		req.Targets = args
	}
	resp, err := taskhelper.Call(ctx, os.Getenv(taskhelper.EnvSocket), req)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(resp)
}

func readAll(f *os.File) (string, error) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < taskhelper.MaxLine {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("notify: empty message on stdin")
	}
	return b.String(), nil
}
