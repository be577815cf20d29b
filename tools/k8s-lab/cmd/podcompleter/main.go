// Command podcompleter stands in for the kubelet in the lab: the lab has no nodes, so Pods created by the
// Job controller would stay Pending forever. It moves each Job-owned Pod to a terminal phase after a delay
// counted from the Pod's creation, so the real Job controller completes (or fails) the Job and the real
// CronJob controller sees it finish. Kubernetes' own integration tests complete Jobs the same way.
//
// The Pod template chooses its fate with annotations (copied from the Job template onto each Pod):
//
//	lab.cutover.dev/run-seconds: "90"     how long the Pod "runs" (default: -default-seconds)
//	lab.cutover.dev/outcome: "Failed"     terminal phase: Succeeded (default) or Failed
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

const (
	runSecondsAnnotation = "lab.cutover.dev/run-seconds"
	outcomeAnnotation    = "lab.cutover.dev/outcome"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster to serve")
	kubeContext := flag.String("context", "", "context in the kubeconfig")
	defaultSeconds := flag.Float64("default-seconds", 3, "run time of a Pod without the run-seconds annotation")
	flag.Parse()

	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: *kubeContext}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "podcompleter: cannot load kubeconfig %q: %v\n", *kubeconfig, err)
		os.Exit(2)
	}
	client := kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	c := &completer{client: client, defaultRun: time.Duration(*defaultSeconds * float64(time.Second))}
	factory := informers.NewSharedInformerFactory(client, 0)
	podInformer := factory.Core().V1().Pods().Informer()
	_, err = podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if pod, ok := obj.(*corev1.Pod); ok {
				c.schedule(ctx, pod)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "podcompleter: %v\n", err)
		os.Exit(1)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	fmt.Printf("podcompleter: serving context %q (default run %s)\n", *kubeContext, c.defaultRun)
	<-ctx.Done()
}

type completer struct {
	client     kubernetes.Interface
	defaultRun time.Duration
}

func ownedByJob(pod *corev1.Pod) bool {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Job" && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

func terminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}

// schedule arranges for the Pod to finish at creation + run time, so a restarted completer keeps the
// same finish times instead of granting every Pod a fresh delay.
func (c *completer) schedule(ctx context.Context, pod *corev1.Pod) {
	if !ownedByJob(pod) || terminal(pod.Status.Phase) || pod.DeletionTimestamp != nil {
		return
	}
	run := c.defaultRun
	if v, ok := pod.Annotations[runSecondsAnnotation]; ok {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			run = time.Duration(s * float64(time.Second))
		}
	}
	phase := corev1.PodSucceeded
	if pod.Annotations[outcomeAnnotation] == string(corev1.PodFailed) {
		phase = corev1.PodFailed
	}
	wait := time.Until(pod.CreationTimestamp.Add(run))
	ns, name, uid := pod.Namespace, pod.Name, pod.UID
	time.AfterFunc(wait, func() { c.finish(ctx, ns, name, uid, phase) })
}

func (c *completer) finish(ctx context.Context, ns, name string, uid types.UID, phase corev1.PodPhase) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.UID != uid || terminal(pod.Status.Phase) || pod.DeletionTimestamp != nil {
			return nil
		}
		now := metav1.Now()
		pod.Status.Phase = phase
		if pod.Status.StartTime == nil {
			pod.Status.StartTime = &now
		}
		_, err = c.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "podcompleter: %s/%s: %v\n", ns, name, err)
	}
}
