"""Network (optional, config ``vpc``): private subnets for the functions without any NAT gateway or
internet gateway. S3 and DynamoDB are reached through gateway endpoints (free); only the API the
functions call besides those gets an interface endpoint: Step Functions (``states:StartExecution`` from
the validation handler). No SQS endpoint: nothing in the VPC calls SQS (the dead-letter queue is written
by the Lambda service itself, as the validation function's on-failure destination). Interface endpoints
bill per hour and AZ, so the VPC is off in dev (see docs/deploy.md for the cost)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names
from infra.config import StackConfig
from infra.functions import VpcPlacement

AZ_COUNT = 2
SUBNET_PREFIX = 20
GATEWAY_SERVICES: tuple[str, ...] = ("s3", "dynamodb")
INTERFACE_SERVICES: tuple[str, ...] = ("states",)
# With the Fargate QC path (settings.fargate): the task pulls the image from ECR (layers come through the S3
# gateway) and its log driver writes CloudWatch Logs.
FARGATE_INTERFACE_SERVICES: tuple[str, ...] = ("ecr.api", "ecr.dkr", "logs")


def subnet_cidrs(vpc_cidr: str, count: int = AZ_COUNT) -> list[str]:
    """The first ``count`` /20 blocks of the VPC range."""
    network = ipaddress.ip_network(vpc_cidr)
    blocks = network.subnets(new_prefix=SUBNET_PREFIX)
    return [str(next(blocks)) for _ in range(count)]


@dataclass(frozen=True)
class NetworkArgs:
    names: Names
    config: StackConfig


class Network(pulumi.ComponentResource):
    """VPC, private subnets, gateway and interface endpoints, and the functions' security group."""

    vpc: aws.ec2.Vpc
    subnets: list[aws.ec2.Subnet]
    security_group: aws.ec2.SecurityGroup
    placement: VpcPlacement

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:network:Network", name, None, opts)
        names, config = args.names, args.config
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # private DNS names of the interface endpoints
            tags={"Name": f"{names.prefix}-vpc"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, opts=pulumi.ResourceOptions(parent=self))
        route_table = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=self.vpc.id,
                                         tags={"Name": f"{names.prefix}-private"},
                                         opts=pulumi.ResourceOptions(parent=self))
        self.subnets = self._subnets(name, args, route_table)
        gateways = [self._endpoint(name, names, service, "Gateway", route_table_ids=[route_table.id])
                    for service in GATEWAY_SERVICES]
        self.security_group, endpoint_sg = self._security_groups(name, config, gateways)
        services = INTERFACE_SERVICES + (FARGATE_INTERFACE_SERVICES if config.settings.fargate else ())
        for service in services:
            self._endpoint(name, names, service, "Interface", private_dns_enabled=True,
                           subnet_ids=[s.id for s in self.subnets], security_group_ids=[endpoint_sg.id])
        self.placement = VpcPlacement(
            subnet_ids=[s.id for s in self.subnets],
            security_group_ids=[self.security_group.id],
            subnet_arns=[s.arn for s in self.subnets],
            security_group_arns=[self.security_group.arn],
        )
        self.register_outputs({"vpc_id": self.vpc.id, "subnet_ids": self.placement.subnet_ids})

    def _subnets(self, name: str, args: NetworkArgs, route_table: aws.ec2.RouteTable) -> list[aws.ec2.Subnet]:
        """One private subnet per availability zone (no public IPs), each on the private route table."""
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(state="available").names[:AZ_COUNT]
        subnets = []
        for i, (zone, cidr) in enumerate(zip(zones, subnet_cidrs(config.vpc_cidr, len(zones)), strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{names.prefix}-private-{zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rt", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
            )
            subnets.append(subnet)
        return subnets

    def _endpoint(self, name: str, names: Names, service: str, kind: str, **placement: Any) -> aws.ec2.VpcEndpoint:
        """A ``Gateway`` or ``Interface`` endpoint of ``service`` in this region (``placement``: its route
        tables, or its subnets, security groups and private DNS)."""
        return aws.ec2.VpcEndpoint(
            f"{name}-{service}-{kind.lower()}",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{names.region}.{service}",
            vpc_endpoint_type=kind,
            opts=pulumi.ResourceOptions(parent=self),
            **placement,
        )

    def _security_groups(self, name: str, config: StackConfig, gateways: list[aws.ec2.VpcEndpoint]
                         ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """The functions' group (HTTPS out to the endpoints only) and the interface endpoints' group (HTTPS in
        from the functions only)."""
        https: dict[str, Any] = {"protocol": "tcp", "from_port": 443, "to_port": 443}
        functions = self._security_group(
            f"{name}-functions-sg", "Pipeline functions: HTTPS to the VPC endpoints only",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(**https, cidr_blocks=[config.vpc_cidr],
                                                description="interface endpoints"),
                aws.ec2.SecurityGroupEgressArgs(**https, prefix_list_ids=[g.prefix_list_id for g in gateways],
                                                description="S3 and DynamoDB gateway endpoints"),
            ],
        )
        endpoints = self._security_group(
            f"{name}-endpoints-sg", "Interface endpoints: HTTPS from the pipeline functions",
            ingress=[aws.ec2.SecurityGroupIngressArgs(**https, security_groups=[functions.id])],
        )
        return functions, endpoints

    def _security_group(self, logical: str, description: str, **rules: Any) -> aws.ec2.SecurityGroup:
        """A security group of the VPC with only the given ``ingress``/``egress`` rules."""
        return aws.ec2.SecurityGroup(logical, vpc_id=self.vpc.id, description=description,
                                     opts=pulumi.ResourceOptions(parent=self), **rules)
