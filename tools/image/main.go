// Command oci-image assembles the cutover container image without a container engine: each directory
// given with -layer becomes one layer (files owned by root, fixed timestamps, sorted, so the same inputs
// give the same digests), and the result is written as an OCI image layout, as an OCI archive (the
// layout in one tar, for `skopeo copy oci-archive:` or `crane push`) and as a `docker load` tarball.
// `oci-image unpack` flattens an image layout into a root filesystem, for checking what the image holds.
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fail("usage: oci-image build|unpack [flags]")
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "unpack":
		err = unpack(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: expected build or unpack", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "oci-image:", message)
	os.Exit(1)
}

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	var layers, env, labels, entrypoint list
	fs.Var(&layers, "layer", "directory that becomes the next layer (repeat, base first)")
	fs.Var(&env, "env", "KEY=VALUE of the image config (repeat)")
	fs.Var(&labels, "label", "KEY=VALUE label (repeat)")
	fs.Var(&entrypoint, "entrypoint", "entrypoint argument (repeat, in order)")
	user := fs.String("user", "65532:65532", "user:group the container runs as")
	workdir := fs.String("workdir", "/", "working directory")
	ref := fs.String("tag", "", "image reference recorded in the outputs, e.g. cutover:0.1.0")
	epoch := fs.Int64("epoch", 0, "timestamp (Unix seconds) of every file, layer and the image")
	layoutDir := fs.String("layout", "", "OCI image layout directory to write")
	ociArchive := fs.String("oci-archive", "", "the layout as one tar file")
	dockerArchive := fs.String("docker-archive", "", "a `docker load` tarball")
	_ = fs.Parse(args)
	if len(layers) == 0 || *ref == "" || *layoutDir == "" {
		return fmt.Errorf("build needs -layer, -tag and -layout")
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("-tag %q: %w", *ref, err)
	}
	created := time.Unix(*epoch, 0).UTC()

	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, dir := range layers {
		file, err := writeLayerTar(dir, created)
		if err != nil {
			return err
		}
		defer os.Remove(file)
		layer, err := tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{CreatedBy: "oci-image build -layer " + filepath.Base(dir), Created: v1.Time{Time: created}},
		})
		if err != nil {
			return err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: created}
	cfg.Config.User = *user
	cfg.Config.WorkingDir = *workdir
	cfg.Config.Entrypoint = entrypoint
	cfg.Config.Env = env
	cfg.Config.Labels = map[string]string{}
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		cfg.Config.Labels[k] = v
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}

	if err := os.RemoveAll(*layoutDir); err != nil {
		return err
	}
	p, err := layout.Write(*layoutDir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag.TagStr()})); err != nil {
		return err
	}
	if *ociArchive != "" {
		if err := tarDirectory(*layoutDir, *ociArchive, created); err != nil {
			return err
		}
	}
	if *dockerArchive != "" {
		if err := tarball.WriteToFile(*dockerArchive, tag, img); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(digest.String())
	return nil
}

// writeLayerTar writes dir as an uncompressed layer tar in a temporary file: sorted entries, root-owned,
// one timestamp, permissions and symlinks as on disk.
func writeLayerTar(dir string, created time.Time) (string, error) {
	out, err := os.CreateTemp("", "layer-*.tar")
	if err != nil {
		return "", err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	if err := addTree(tw, dir, "", created); err != nil {
		return "", fmt.Errorf("layer %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return out.Name(), nil
}

// addTree adds every entry below root, with names relative to it, prefixed by prefix.
func addTree(tw *tar.Writer, root, prefix string, created time.Time) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		if err := addEntry(tw, p, path.Join(prefix, filepath.ToSlash(rel)), created); err != nil {
			return err
		}
	}
	return nil
}

func addEntry(tw *tar.Writer, p, name string, created time.Time) error {
	info, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = created, time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func tarDirectory(dir, file string, created time.Time) error {
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	if err := addTree(tw, dir, "", created); err != nil {
		return err
	}
	return tw.Close()
}

func unpack(args []string) error {
	fs := flag.NewFlagSet("unpack", flag.ExitOnError)
	layoutDir := fs.String("layout", "", "OCI image layout directory holding one image")
	to := fs.String("to", "", "directory to unpack the image's root filesystem into")
	_ = fs.Parse(args)
	if *layoutDir == "" || *to == "" {
		return fmt.Errorf("unpack needs -layout and -to")
	}
	p, err := layout.FromPath(*layoutDir)
	if err != nil {
		return err
	}
	index, err := p.ImageIndex()
	if err != nil {
		return err
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		return err
	}
	if len(manifest.Manifests) != 1 {
		return fmt.Errorf("%s holds %d images, expected 1", *layoutDir, len(manifest.Manifests))
	}
	img, err := p.Image(manifest.Manifests[0].Digest)
	if err != nil {
		return err
	}
	flat := mutate.Extract(img)
	defer flat.Close()
	return extract(tar.NewReader(flat), *to)
}

// extract writes a flattened image filesystem (no whiteouts left) below dir, refusing names that leave it.
func extract(tr *tar.Reader, dir string) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the target directory", hdr.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(target, tarMode(hdr)); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			if err := os.Link(filepath.Join(dir, filepath.FromSlash(hdr.Linkname)), target); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.Chmod(target, tarMode(hdr)); err != nil {
				return err
			}
		}
	}
}

// tarMode keeps the sticky bit of /tmp, which os.FileMode(hdr.Mode) does not carry.
func tarMode(hdr *tar.Header) os.FileMode {
	mode := os.FileMode(hdr.Mode & 0o777)
	if hdr.Mode&01000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
