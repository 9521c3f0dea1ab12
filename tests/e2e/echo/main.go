// Command okl-e2e-echo is the test workload of tests/e2e (our own code, static, on an empty image).
//
//	okl-e2e-echo serve [addr]   answer every HTTP request, and every UDP datagram to the same address,
//	                            with "hello from <hostname>"
//	okl-e2e-echo get URL [secs] fetch URL until it answers (at most secs, default 60) and print the body
//
// Both modes print what they do to stdout, which the e2e test reads from the pods' logs.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: okl-e2e-echo serve [addr] | get URL [seconds]")
		os.Exit(2)
	}
	host, _ := os.Hostname()
	switch os.Args[1] {
	case "serve":
		addr := ":8080"
		if len(os.Args) > 2 {
			addr = os.Args[2]
		}
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Printf("okl-e2e-echo: request from %s\n", r.RemoteAddr)
			fmt.Fprintf(w, "hello from %s\n", host)
		})
		// UDP on the same address: the video patterns stream RTP over UDP through a LoadBalancer.
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				_, peer, err := conn.ReadFrom(buf)
				if err != nil {
					continue
				}
				fmt.Printf("okl-e2e-echo: datagram from %s\n", peer)
				conn.WriteTo([]byte("hello from "+host+"\n"), peer)
			}
		}()
		fmt.Printf("okl-e2e-echo: %s serving on %s\n", host, addr)
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "get":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "get needs a URL")
			os.Exit(2)
		}
		limit := 60
		if len(os.Args) > 3 {
			limit, _ = strconv.Atoi(os.Args[3])
		}
		client := &http.Client{Timeout: 3 * time.Second}
		deadline := time.Now().Add(time.Duration(limit) * time.Second)
		for {
			resp, err := client.Get(os.Args[2])
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				fmt.Printf("okl-e2e-echo: %s got %d from %s: %s", host, resp.StatusCode, os.Args[2], body)
				if resp.StatusCode == http.StatusOK {
					return
				}
			} else {
				fmt.Printf("okl-e2e-echo: %s: %v\n", os.Args[2], err)
			}
			if time.Now().After(deadline) {
				os.Exit(1)
			}
			time.Sleep(time.Second)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}
