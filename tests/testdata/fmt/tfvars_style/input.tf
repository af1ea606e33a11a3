region="us-east-1"
instance_count=3
tags={
Name="x"
"kubernetes.io/cluster/foo"="owned"
}
enabled=true
list=["a","b"]
