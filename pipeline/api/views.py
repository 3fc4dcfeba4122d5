"""The integration API for assets: thin views over the pipeline's services."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from pipeline.api.serializers import AssetDetailSerializer, AssetSerializer, BriefSerializer, ReviewSerializer
from pipeline.models import Asset
from pipeline.services import review
from pipeline.services.briefs import BriefError, submit_brief


class AssetFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Asset.State.choices)
    channel = django_filters.NumberFilter(field_name="channels")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Asset
        fields = ["state", "failed_stage", "channel"]


class AssetViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Asset.objects.prefetch_related("channels").order_by("-created_at", "-id")
    filterset_class = AssetFilter

    def get_serializer_class(self):
        if self.action == "create":
            return BriefSerializer
        if self.action == "retrieve":
            return AssetDetailSerializer
        return AssetSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("stage_attempts", "transitions", "publications__channel")
        return qs

    @extend_schema(
        request=BriefSerializer, responses={201: AssetSerializer, 200: AssetSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="A repeated POST with the same key returns the same asset.")],
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 200:
            raise ValidationError({"Idempotency-Key": ["must be at most 200 characters"]})
        brief = BriefSerializer(data=request.data)
        brief.is_valid(raise_exception=True)
        try:
            asset, created = submit_brief(**brief.validated_data, idempotency_key=key, user=request.user)
        except BriefError as exc:
            raise ValidationError({exc.field: [exc.problem]})
        return Response(AssetSerializer(asset, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _review(self, request, pk, func, **kwargs):
        get_object_or_404(Asset, pk=pk)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not request.user.has_perm("pipeline.review_asset"):
            raise PermissionDenied("you need the 'review asset' permission")
        if "rewrite" in kwargs and body.validated_data["rewrite"] and not body.validated_data["notes"].strip():
            raise ValidationError({"notes": ["say what the rewrite should change"]})
        try:
            asset = func(int(pk), user=request.user, notes=body.validated_data["notes"],
                         **{k: body.validated_data[k] for k in kwargs})
        except review.ReviewError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(AssetSerializer(asset, context={"request": request}).data)

    @extend_schema(request=ReviewSerializer, responses=AssetSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._review(request, pk, review.approve_asset)

    @extend_schema(request=ReviewSerializer, responses=AssetSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(request, pk, review.reject_asset, rewrite=True)
