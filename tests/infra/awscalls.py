"""Static scan (AST) of the AWS API calls each function's code can make, as IAM actions.

For one function of ``genomics.deployment.FUNCTIONS``: start at its handler (``handlers.x.handler``),
follow the ``genomics``/``handlers`` modules it imports (anywhere in a file, including imports inside
functions), and walk the call graph by name from the handler: a function or method is reachable when a
reachable body calls it or passes it along by name (``pool.map(fn, ...)``, ``aws(lambda: ...)``); a class
is reachable with its ``__init__``/``__post_init__``. Resolution by name over-approximates (two methods
with the same name are both reachable), which errs on the side of listing a call, never of missing one.

In each reachable body, a boto3 client call is a call of a known operation method with the operation's
own arguments (``Bucket=``, ``TableName=``, ``stateMachineArn=``, ...; positional for the managed
transfers ``upload_file``/``download_file``/``copy``), the ledger's dispatcher ``self._call("op", ...)``,
``get_paginator("list_objects_v2")`` and ``generate_presigned_url("get_object" | "upload_part")``. Each call maps to IAM
actions (:data:`S3`, :data:`DYNAMODB`, :data:`OTHER`) and, where the code names it, the target:
``TableName=self.jobs_table`` is the jobs table (``IndexName=`` makes it the table's indexes),
``Bucket=cfg.raw_bucket`` the raw bucket; a target the code computes stays ``None`` (any).
A call with ``VersionId=`` or ``**kwargs`` may read a version, so it needs ``s3:GetObjectVersion`` too.

What the scan does not resolve: S3 key prefixes (grants scoped to ``tmp/*`` vs ``processed/*`` are checked
by the handler tests on moto, which run the real calls under the real paths).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("genomics", "handlers")

# method -> (IAM actions, argument names that mark the call as an AWS call, positional arity of a transfer)
S3: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "get_object": (("s3:GetObject",), ("Bucket",)),
    # A HEAD of a missing key answers 404 (which the code tests for) only with s3:ListBucket; else 403.
    "head_object": (("s3:GetObject", "s3:ListBucket"), ("Bucket",)),
    "put_object": (("s3:PutObject",), ("Bucket",)),
    "copy_object": (("s3:GetObject", "s3:PutObject"), ("CopySource",)),
    "delete_object": (("s3:DeleteObject",), ("Bucket",)),
    "delete_objects": (("s3:DeleteObject",), ("Bucket",)),
    "list_objects_v2": (("s3:ListBucket",), ("Bucket",)),
    "get_object_tagging": (("s3:GetObjectTagging",), ("Bucket",)),
    "put_object_tagging": (("s3:PutObjectTagging",), ("Bucket",)),
    "get_object_retention": (("s3:GetObjectRetention",), ("Bucket",)),
    "list_object_versions": (("s3:ListBucketVersions",), ("Bucket",)),
    # Multipart uploads (the web app starts, lists, completes and aborts the browser's uploads).
    "create_multipart_upload": (("s3:PutObject",), ("Bucket",)),
    "complete_multipart_upload": (("s3:PutObject",), ("Bucket",)),
    "abort_multipart_upload": (("s3:AbortMultipartUpload",), ("Bucket",)),
    "list_parts": (("s3:ListMultipartUploadParts",), ("Bucket",)),
    "list_multipart_uploads": (("s3:ListBucketMultipartUploads",), ("Bucket",)),
}
# generate_presigned_url(<operation>): the caller of the URL acts with the signer's permissions.
PRESIGNED: dict[str, str] = {"get_object": "s3:GetObject", "upload_part": "s3:PutObject"}
# managed transfers: method -> (actions, index of the bucket argument, minimum positional arguments)
S3_TRANSFERS: dict[str, tuple[tuple[str, ...], int, int]] = {
    "upload_file": (("s3:PutObject",), 1, 3),
    "upload_fileobj": (("s3:PutObject",), 1, 3),
    "download_file": (("s3:GetObject",), 0, 3),
    "download_fileobj": (("s3:GetObject",), 0, 3),
    "copy": (("s3:GetObject", "s3:PutObject"), 1, 3),
}
DYNAMODB: dict[str, str] = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "batch_get_item": "dynamodb:BatchGetItem",
}
DYNAMODB_MARKERS = ("TableName", "RequestItems")
OTHER: dict[str, tuple[str, tuple[str, ...], str]] = {
    "start_execution": ("states:StartExecution", ("stateMachineArn",), "state-machine"),
    "describe_execution": ("states:DescribeExecution", ("executionArn",), "executions"),
    "send_message": ("sqs:SendMessage", ("QueueUrl",), "queue"),
    "receive_message": ("sqs:ReceiveMessage", ("QueueUrl",), "queue"),
    "delete_message": ("sqs:DeleteMessage", ("QueueUrl",), "queue"),
    "get_queue_url": ("sqs:GetQueueUrl", ("QueueName",), "queue"),
    "get_queue_attributes": ("sqs:GetQueueAttributes", ("QueueUrl",), "queue"),
    "change_message_visibility": ("sqs:ChangeMessageVisibility", ("QueueUrl",), "queue"),
    "change_message_visibility_batch": ("sqs:ChangeMessageVisibility", ("QueueUrl",), "queue"),
    "invoke": ("lambda:InvokeFunction", ("FunctionName",), "function"),
    # The manifest-signing key (genomics.drs.signing.KmsSigner).
    "sign": ("kms:Sign", ("KeyId",), "signing-key"),
    "get_public_key": ("kms:GetPublicKey", ("KeyId",), "signing-key"),
}
TABLE_ROLES = ("metadata", "jobs", "qc")
BUCKET_ROLES = ("raw", "processed", "delivery")


@dataclass(frozen=True)
class Call:
    """One AWS API call site: the IAM action, its target (``None``: computed, any) and where it is."""

    action: str
    target: str | None
    where: str


@dataclass
class _Module:
    name: str
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)


def _module_path(name: str) -> Path | None:
    """The source file of a genomics/handlers module (None for a name imported from a module)."""
    base = REPO_ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def _load(name: str) -> _Module | None:
    path = _module_path(name)
    if path is None:
        return None
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _Module(name, path, tree)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module.imports.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            module.imports.add(base)
            module.imports.update(f"{base}.{a.name}" for a in node.names)
    module.imports = {m for m in module.imports if m.split(".")[0] in PACKAGES}
    return module


def reachable_modules(root: str) -> dict[str, _Module]:
    """``root`` and every genomics/handlers module it imports, transitively."""
    found: dict[str, _Module] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        module = _load(name)
        if module is None:
            continue
        found[name] = module
        todo.extend(module.imports - found.keys())
    return found


Def = ast.AST  # a function or method, or a module-level assignment (a dispatch table of functions)


def _methods(modules: dict[str, _Module]) -> set[int]:
    """ids of the functions defined directly in a class body: a bare name (``open(...)``) never calls one."""
    return {id(n) for module in modules.values() for node in ast.walk(module.tree) if isinstance(node, ast.ClassDef)
            for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _definitions(modules: dict[str, _Module]) -> tuple[dict[str, list[tuple[str, Def]]], dict[str, list[Def]]]:
    functions: dict[str, list[tuple[str, Def]]] = {}
    constructors: dict[str, list[Def]] = {}
    for name, module in modules.items():
        for stmt in module.tree.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else [])
            for target in targets:
                if isinstance(target, ast.Name):
                    functions.setdefault(target.id, []).append((name, stmt))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.setdefault(node.name, []).append((name, node))
            elif isinstance(node, ast.ClassDef):
                constructors.setdefault(node.name, []).extend(
                    n for n in node.body
                    if isinstance(n, ast.FunctionDef) and n.name in ("__init__", "__post_init__")
                )
    return functions, constructors


def _external_modules(modules: dict[str, _Module]) -> set[str]:
    """Names bound by ``import x`` / ``import x as y`` of modules outside our packages (``hashlib``,
    ``os``): ``hashlib.sha256(...)`` is not a call of our ``sha256`` methods."""
    out: set[str] = set()
    for module in modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                out |= {(a.asname or a.name).split(".")[0] for a in node.names
                        if a.name.split(".")[0] not in PACKAGES}
    return out


def _data_fields(modules: dict[str, _Module]) -> set[str]:
    """Names declared as data in a class body of ours (``size: int | None`` in a dataclass): handing
    ``record.size`` to a call (``ObjectRef(size=record.size)``) passes a value, not a method."""
    return {n.target.id for module in modules.values() for node in ast.walk(module.tree)
            if isinstance(node, ast.ClassDef)
            for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


def _names_used(node: ast.AST, external: frozenset[str] | set[str] = frozenset(),
                data: frozenset[str] | set[str] = frozenset()) -> tuple[set[str], set[str]]:
    """Names a body may call, as (bare names, attributes): called names and attributes, names passed as
    values (``pool.map(fn)``), attributes of modules or objects passed to a call
    (``pool.map(service.process_shard)``) unless the attribute is a declared data field of ours. A name
    the body binds itself (a parameter, a local) is not a global function, and any other read of an
    attribute (``ref.size``, a dataclass field) is data."""
    names: set[str] = set()
    attrs: set[str] = set()
    calls = [sub for sub in ast.walk(node) if isinstance(sub, ast.Call)]
    called = {id(c.func) for c in calls}
    # values handed to a call (``pool.map(service.process_shard)``): an attribute there may be a function
    passed = {id(a) for c in calls for a in [*c.args, *(k.value for k in c.keywords)]}
    # a name bound in this body (a parameter, an assignment) shadows any function of that name
    local = {a.arg for sub in ast.walk(node) if isinstance(sub, ast.arguments)
             for a in [*sub.posonlyargs, *sub.args, *sub.kwonlyargs, sub.vararg, sub.kwarg] if a is not None}
    local |= {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in local:
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            own = isinstance(sub.value, ast.Name) and sub.value.id in ("self", "cls")
            if isinstance(sub.value, ast.Name) and sub.value.id in external:
                continue  # a function of a library module
            if id(sub) in called or (not own and id(sub) in passed and sub.attr not in data):
                attrs.add(sub.attr)
    return names, attrs


def _role(expr: ast.AST | None, roles: tuple[str, ...]) -> str | None:
    """The table/bucket role an argument names (``self.jobs_table``, ``cfg.raw_bucket``), else None."""
    if expr is None:
        return None
    text = ast.unparse(expr).lower()
    hits = [r for r in roles if r in text]
    return hits[0] if len(hits) == 1 else None


def _keywords(call: ast.Call) -> dict[str | None, ast.AST]:
    return {k.arg: k.value for k in call.keywords}


def _string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def calls_in(node: ast.AST, where: str) -> set[Call]:
    """The AWS calls made directly in ``node`` (a function body, lambdas included)."""
    found: set[Call] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Dict):
            keys = {k.value: v for k, v in zip(sub.keys, sub.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            if "TableName" in keys and "KeyConditionExpression" in keys:
                # A Query's arguments built as data, run by a paging helper (the ledger's _query).
                table = _role(keys["TableName"], TABLE_ROLES)
                if table is not None and "IndexName" in keys:
                    table = f"{table}#index"
                found.add(Call("dynamodb:Query", table, f"{where}:{sub.lineno}"))
            continue
        if not isinstance(sub, ast.Call) or not isinstance(sub.func, ast.Attribute):
            continue
        method, kw = sub.func.attr, _keywords(sub)
        at = f"{where}:{sub.lineno}"
        if method == "_call" and _string_arg(sub) in DYNAMODB:
            method = _string_arg(sub)  # the ledger's dispatcher: self._call("get_item", TableName=...)
        if "KeyConditionExpression" in kw and "TableName" in kw:
            method = "query"  # a Query's arguments passed to a helper that pages (self._query(TableName=...))
        if method == "get_paginator" and _string_arg(sub) == "list_objects_v2":
            found.add(Call("s3:ListBucket", None, at))
        elif method == "generate_presigned_url" and _string_arg(sub) in PRESIGNED:
            found.add(Call(PRESIGNED[str(_string_arg(sub))], None, at))
        elif method in S3 and any(m in kw for m in S3[method][1]):
            bucket = _role(kw.get("Bucket"), BUCKET_ROLES)
            actions = S3[method][0]
            if method in ("get_object", "head_object") and ("VersionId" in kw or None in kw):
                actions = (*actions, "s3:GetObjectVersion")
            found.update(Call(a, bucket, at) for a in actions)
        elif method in S3_TRANSFERS and len(sub.args) >= S3_TRANSFERS[method][2]:
            actions, index, _ = S3_TRANSFERS[method]
            bucket = _role(sub.args[index], BUCKET_ROLES)
            found.update(Call(a, bucket, at) for a in actions)
        elif method in DYNAMODB and any(m in kw for m in DYNAMODB_MARKERS):
            table = _role(kw.get("TableName"), TABLE_ROLES)
            if table is not None and "IndexName" in kw:
                table = f"{table}#index"
            found.add(Call(DYNAMODB[method], table, at))
        elif method in OTHER and any(m in kw for m in OTHER[method][1]):
            action, _, target = OTHER[method]
            found.add(Call(action, target, at))
    return found


def function_calls(handler: str) -> set[Call]:
    """Every AWS call the function whose image command is ``handler`` (``handlers.x.handler``) can make."""
    module_name, entry = handler.rsplit(".", 1)
    modules = reachable_modules(module_name)
    functions, constructors = _definitions(modules)
    methods = _methods(modules)
    external = _external_modules(modules)
    data = _data_fields(modules)
    start = [(m, d) for m, d in functions.get(entry, []) if m == module_name]
    assert start, f"{handler}: no function {entry} in {module_name}"
    seen: set[int] = set()
    todo = list(start)
    calls: set[Call] = set()
    while todo:
        module, node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        calls |= calls_in(node, f"{modules[module].path.relative_to(REPO_ROOT)}")
        names, attrs = _names_used(node, external, data)
        for name in names | attrs:
            # a bare name is a module-level function, a nested one or a builtin, never a method
            todo.extend(d for d in functions.get(name, []) if name in attrs or id(d[1]) not in methods)
            for ctor in constructors.get(name, []):
                owner = next(m for m, mod in modules.items() if any(n is ctor for n in ast.walk(mod.tree)))
                todo.append((owner, ctor))
    return calls
