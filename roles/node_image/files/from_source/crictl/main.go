// Command crictl is a small stand-in for cri-tools' crictl in the node image built from source (our own code): the Go
// module proxy CI reaches does not serve sigs.k8s.io/cri-tools. It speaks the CRI image service on
// containerd's socket and prints crictl's JSON shapes for what kind and this collection read:
//
//	crictl images [-o json] [-q]    {"images": [{"id", "repoTags", "repoDigests", "size"}]}
//	crictl inspecti IMAGE           {"status": {"id", "repoTags", "repoDigests", "size"}}
//	crictl rmi IMAGE...
//	crictl version
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type image struct {
	ID          string   `json:"id"`
	RepoTags    []string `json:"repoTags"`
	RepoDigests []string `json:"repoDigests"`
	Size        string   `json:"size"`
}

func toImage(i *runtime.Image) image {
	return image{ID: i.Id, RepoTags: nonNil(i.RepoTags), RepoDigests: nonNil(i.RepoDigests), Size: strconv.FormatUint(i.Size, 10)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crictl: "+format+"\n", args...)
	os.Exit(1)
}

func printJSON(v any) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail("%v", err)
	}
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: crictl images [-o json] [-q] | inspecti IMAGE | rmi IMAGE... | version")
	}
	endpoint := os.Getenv("CONTAINER_RUNTIME_ENDPOINT")
	if endpoint == "" {
		endpoint = "unix:///run/containerd/containerd.sock"
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("connect %s: %v", endpoint, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	images := runtime.NewImageServiceClient(conn)

	args := os.Args[2:]
	switch os.Args[1] {
	case "images":
		resp, err := images.ListImages(ctx, &runtime.ListImagesRequest{})
		if err != nil {
			fail("list images: %v", err)
		}
		asJSON, quiet := false, false
		for i := 0; i < len(args); i++ {
			switch {
			case args[i] == "-q" || args[i] == "--quiet":
				quiet = true
			case (args[i] == "-o" || args[i] == "--output") && i+1 < len(args):
				asJSON = args[i+1] == "json"
				i++
			case args[i] == "-o=json" || args[i] == "--output=json":
				asJSON = true
			}
		}
		out := []image{}
		for _, i := range resp.Images {
			out = append(out, toImage(i))
		}
		switch {
		case asJSON:
			printJSON(map[string]any{"images": out})
		case quiet:
			for _, i := range out {
				fmt.Println(i.ID)
			}
		default:
			for _, i := range out {
				fmt.Println(i.ID, i.RepoTags, i.Size)
			}
		}
	case "inspecti":
		if len(args) != 1 {
			fail("inspecti needs one image")
		}
		resp, err := images.ImageStatus(ctx, &runtime.ImageStatusRequest{Image: &runtime.ImageSpec{Image: args[0]}})
		if err != nil {
			fail("image status %s: %v", args[0], err)
		}
		if resp.Image == nil {
			fail("no such image %q present", args[0])
		}
		printJSON(map[string]any{"status": toImage(resp.Image)})
	case "rmi":
		for _, ref := range args {
			if _, err := images.RemoveImage(ctx, &runtime.RemoveImageRequest{Image: &runtime.ImageSpec{Image: ref}}); err != nil {
				fail("remove %s: %v", ref, err)
			}
		}
	case "version":
		resp, err := runtime.NewRuntimeServiceClient(conn).Version(ctx, &runtime.VersionRequest{})
		if err != nil {
			fail("version: %v", err)
		}
		fmt.Printf("RuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n", resp.RuntimeName, resp.RuntimeVersion, resp.RuntimeApiVersion)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
