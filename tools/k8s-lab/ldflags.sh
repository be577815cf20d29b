# Sourced by build.sh and build-kubectl.sh: the -ldflags that stamp a Kubernetes version into the programs
# built from the pinned module, so that /version and `kubectl version` report it. Usage: kube_ldflags v1.34.4
kube_ldflags() {
  local kube="$1" minor
  minor=${kube#v1.}; minor=${minor%%.*}
  printf '%s' "-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=$kube \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
}
