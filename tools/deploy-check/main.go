// deploy-check validates switch-telemetry's deployment files without a container
// engine or a cluster:
//
//	deploy-check compose FILE   load FILE under the Compose Specification (compose-go),
//	                            every profile enabled; print the normalised project as JSON
//	deploy-check k8s [FILE]     decode every object of a multi-document YAML stream (FILE or
//	                            stdin, e.g. `kustomize build` output) strictly into its
//	                            k8s.io/api type: unknown or duplicate fields, wrong types and
//	                            unknown kinds are errors; print one line per object
//
// Exit status: 0 valid, 1 invalid (each problem on stderr), 2 usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const usage = `usage: deploy-check compose FILE
       deploy-check k8s [FILE]   (stdin when FILE is absent or -)`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "compose":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		err = checkCompose(os.Args[2], os.Stdout)
	case "k8s":
		in := io.Reader(os.Stdin)
		if len(os.Args) == 3 && os.Args[2] != "-" {
			f, ferr := os.Open(os.Args[2])
			if ferr != nil {
				fmt.Fprintln(os.Stderr, ferr)
				os.Exit(1)
			}
			defer f.Close()
			in = f
		}
		err = checkKubernetes(in, os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// checkCompose loads and validates a Compose file with every profile enabled (so the
// optional services are checked too) and writes the normalised model as JSON.
func checkCompose(file string, out io.Writer) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	opts, err := cli.NewProjectOptions(
		[]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithName("switch-telemetry"),
		cli.WithProfiles([]string{"*"}),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	data, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = out.Write(append(data, '\n'))
	return err
}

// scheme holds every API group the manifests may use; a kind outside it is an error.
func scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, autoscalingv2.AddToScheme, rbacv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkKubernetes decodes every document of a YAML stream strictly into its typed object.
func checkKubernetes(in io.Reader, out io.Writer) error {
	s, err := scheme()
	if err != nil {
		return err
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, json.SerializerOptions{Yaml: true, Strict: true})
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var problems []string
	count := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading YAML: %w", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		count++
		obj, gvk, err := strict.Decode(doc, nil, nil)
		name := describe(doc)
		if err != nil {
			problems = append(problems, fmt.Sprintf("object %d (%s): %v", count, name, err))
			continue
		}
		fmt.Fprintf(out, "ok %s %s/%s\n", gvk.GroupVersion().String(), gvk.Kind, objectName(obj))
	}
	if count == 0 {
		problems = append(problems, "no objects in the input")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// stripComments drops whole-line YAML comments (a document of comments only is empty).
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// describe names a document that failed to decode, as well as can be told.
func describe(doc []byte) string {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := utilyaml.Unmarshal(doc, &head); err != nil || head.Kind == "" {
		return "unknown kind"
	}
	return head.Kind + "/" + head.Metadata.Name
}

func objectName(obj runtime.Object) string {
	if m, ok := obj.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return "?"
}
