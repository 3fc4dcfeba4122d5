from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable, e.g. invalid, not_found, throttled.")
    message = serializers.CharField(help_text="For people: what is wrong.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text='Each offending field (dotted when nested, "body" for the whole '
                                             "body, a header's name for a header) and its problems.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
