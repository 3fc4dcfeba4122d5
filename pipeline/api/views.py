"""The integration API for assets: thin views over the pipeline's services, scoped to the caller's teams."""

import django_filters
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from phantoms.api.errors import Conflict, Unprocessable
from phantoms.api.filters import IdFilter, UtcIsoDateTimeFilter
from phantoms.api.pagination import CappedCursorPagination, OffsetOrCursorPagination
from phantoms.api.views import CheckedLookupMixin
from pipeline.api.serializers import (
    ApproveSerializer,
    AssetDetailSerializer,
    AssetListSerializer,
    AssetSerializer,
    BriefSerializer,
    ReviewSerializer,
    list_rows,
)
from pipeline.models import Asset
from pipeline.selectors import LIST_COLUMNS, asset_list_page, asset_list_version, assets_for
from pipeline.services import review
from pipeline.services.briefs import BriefError, IdempotencyKeyInUse, IdempotencyKeyReused, submit_brief

IDEMPOTENCY_KEY_MAX = 200


class AssetFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Asset.State.choices)
    failed_stage = django_filters.ChoiceFilter(choices=[(s, s) for s in ("script", "voice", "render", "publish")])
    channel = IdFilter(field_name="channels")
    team = IdFilter(field_name="team")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Asset
        fields = ["state", "failed_stage", "channel", "team", "created_after"]


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise ValidationError({"Idempotency-Key": [f"must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters"]})
    return key


class AssetViewSet(CheckedLookupMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Asset.objects.none()
    filterset_class = AssetFilter
    pagination_class = OffsetOrCursorPagination
    required_permissions = {
        "list": ("pipeline.view_asset", "pipeline.add_asset"),
        "retrieve": ("pipeline.view_asset", "pipeline.add_asset"),
        "create": ("pipeline.add_asset",),
        "approve": ("pipeline.approve_asset",),
        "reject": ("pipeline.reject_asset",),
    }
    extra_error_codes = {"create": (409, 422), "approve": (409,), "reject": (409,)}

    def get_serializer_class(self):
        if self.action == "create":
            return BriefSerializer
        if self.action == "retrieve":
            return AssetDetailSerializer
        if self.action == "list":
            return AssetListSerializer
        return AssetSerializer

    @property
    def paginator(self):
        # `?cursor=` (empty for the first page) pages by position instead of offset.
        if not hasattr(self, "_paginator") and "cursor" in self.request.query_params:
            self._paginator = CappedCursorPagination()
        return super().paginator

    @extend_schema(parameters=[OpenApiParameter(
        "cursor", str, OpenApiParameter.QUERY, required=False,
        description="Page by position instead of offset: empty for the newest page, then the cursor from "
                    "`next`. No count, and as fast deep in the table as at its start.")])
    def list(self, request, *args, **kwargs):
        """The lean list, read with values() and built without model instances; 304 when nothing changed.

        The ETag and Last-Modified come from one aggregate over the listing's filter (count, newest
        change, newest id), so a client polling an unchanged list is answered before any row is read.
        """
        assets = self.filter_queryset(self.get_queryset().prefetch_related(None))
        version = asset_list_version(assets)
        etag = quote_etag(f"{request.user.pk}-{version['count']}-{version['newest']}-"
                          f"{version['changed'].timestamp() if version['changed'] else 0}")
        last_modified = int(version["changed"].timestamp()) if version["changed"] else None
        unchanged = get_conditional_response(request, etag=etag, last_modified=last_modified)
        if unchanged is not None:
            return unchanged
        paginator = self.paginator
        if hasattr(paginator, "known_count"):
            paginator.known_count = version["count"]
        page = paginator.paginate_queryset(assets.values(*LIST_COLUMNS), request, view=self)
        rows, channels = asset_list_page(page)
        response = paginator.get_paginated_response(list_rows(rows, channels, request))
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified)
        return response

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Asset.objects.none()
        qs = assets_for(self.request.user).prefetch_related("channels").order_by("-created_at", "-id")
        if self.action == "retrieve":
            qs = qs.prefetch_related("stage_attempts", "transitions", "publications__channel")
        return qs

    @extend_schema(
        request=BriefSerializer, responses={201: AssetSerializer, 200: AssetSerializer},
        parameters=[OpenApiParameter(
            "Idempotency-Key", str, OpenApiParameter.HEADER,
            description="Repeating a POST with the same key (yours alone) answers the first asset (200). The same "
                        "key with a different body is a 422 naming what differs; while the first request is still "
                        "being processed, a 409. Keys expire 24 hours after first use. 1 to 200 printable ASCII "
                        "characters.")],
    )
    def create(self, request, *args, **kwargs):
        key = idempotency_key(request)
        brief = BriefSerializer(data=request.data, context={"request": request})
        brief.is_valid(raise_exception=True)
        try:
            asset, created = submit_brief(**brief.validated_data, idempotency_key=key, user=request.user)
        except IdempotencyKeyReused as exc:
            raise Unprocessable(str(exc), error_code="idempotency_key_reused",
                                fields={"Idempotency-Key": [exc.problem],
                                        **{name: ["differs from the first request with this key"]
                                           for name in exc.differing}})
        except IdempotencyKeyInUse as exc:
            raise Conflict(str(exc), error_code="idempotency_key_in_use", fields={"Idempotency-Key": [exc.problem]})
        except BriefError as exc:
            raise ValidationError({exc.field: [exc.problem]})
        return Response(AssetSerializer(asset, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _review(self, request, func, **kwargs):
        asset = self.get_object()
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "rewrite" in kwargs and body.validated_data["rewrite"] and not body.validated_data["notes"].strip():
            raise ValidationError({"notes": ["say what the rewrite should change"]})
        try:
            asset = func(asset.pk, user=request.user, notes=body.validated_data["notes"],
                         **{k: body.validated_data[k] for k in kwargs})
        except review.NotAllowed as exc:
            raise PermissionDenied(str(exc))
        except review.ReviewError as exc:
            raise Conflict(str(exc))
        return Response(AssetSerializer(asset, context={"request": request}).data)

    @extend_schema(request=ApproveSerializer, responses=AssetSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: publish at once, at `publish_at`, or per channel as `schedule` says."""
        asset = self.get_object()
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        channel_ids = set(asset.channels.values_list("pk", flat=True))
        schedule = {pk: body.validated_data["publish_at"] for pk in channel_ids} if body.validated_data[
            "publish_at"] else {}
        unknown = sorted(set(body.validated_data["schedule"]) - channel_ids)
        if unknown:
            raise ValidationError({"schedule": [f"channel {', '.join(map(str, unknown))} is not a target of this "
                                                "asset"]})
        schedule.update(body.validated_data["schedule"])
        try:
            asset = review.approve_asset(asset.pk, user=request.user, notes=body.validated_data["notes"],
                                         schedule=schedule or None)
        except review.NotAllowed as exc:
            raise PermissionDenied(str(exc))
        except review.InvalidSchedule as exc:
            raise ValidationError({"schedule" if exc.field.startswith("schedule") else exc.field: [str(exc)]})
        except review.ReviewError as exc:
            raise Conflict(str(exc))
        return Response(AssetSerializer(asset, context={"request": request}).data)

    @extend_schema(request=ReviewSerializer, responses=AssetSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(request, review.reject_asset, rewrite=True)
