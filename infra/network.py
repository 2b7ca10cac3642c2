"""Network (optional, config ``vpc``): private subnets for the functions without any NAT gateway or
internet gateway. S3 and DynamoDB are reached through gateway endpoints (free); only the API the
functions call besides those gets an interface endpoint: Step Functions (``states:StartExecution`` from
the validation handler). No SQS endpoint: nothing in the VPC calls SQS (the dead-letter queue is written
by the Lambda service itself, as the validation function's on-failure destination). Interface endpoints
bill per hour and AZ, so the VPC is off in dev (see docs/deploy.md for the cost)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

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
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(state="available").names[:AZ_COUNT]

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # private DNS names of the interface endpoints
            tags={"Name": f"{names.prefix}-vpc"},
            opts=child,
        )
        # The default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, opts=child)
        route_table = aws.ec2.RouteTable(
            f"{name}-private-rt", vpc_id=self.vpc.id, tags={"Name": f"{names.prefix}-private"}, opts=child
        )
        self.subnets = []
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
            self.subnets.append(subnet)

        gateways = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}-gateway",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{names.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[route_table.id],
                opts=child,
            )
            for service in GATEWAY_SERVICES
        }
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-functions-sg",
            vpc_id=self.vpc.id,
            description="Pipeline functions: HTTPS to the VPC endpoints only",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=[config.vpc_cidr],
                    description="interface endpoints",
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp", from_port=443, to_port=443,
                    prefix_list_ids=[g.prefix_list_id for g in gateways.values()],
                    description="S3 and DynamoDB gateway endpoints",
                ),
            ],
            opts=child,
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from the pipeline functions",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=443, to_port=443, security_groups=[self.security_group.id]
                )
            ],
            opts=child,
        )
        services = INTERFACE_SERVICES + (FARGATE_INTERFACE_SERVICES if config.settings.fargate else ())
        for service in services:
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-interface",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{names.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets],
                security_group_ids=[endpoint_sg.id],
                opts=child,
            )
        self.placement = VpcPlacement(
            subnet_ids=[s.id for s in self.subnets],
            security_group_ids=[self.security_group.id],
            subnet_arns=[s.arn for s in self.subnets],
            security_group_arns=[self.security_group.arn],
        )
        self.register_outputs({"vpc_id": self.vpc.id, "subnet_ids": self.placement.subnet_ids})
