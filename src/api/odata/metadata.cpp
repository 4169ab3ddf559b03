#include "api/odata/metadata.hpp"

namespace ds::api::odata {

// Written for this service from what its handlers return (routes.cpp): keep the two in step.
const std::string& metadata_xml() {
  static const std::string xml = R"csdl(<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="OData.CSC">
      <ComplexType Name="TimeRange">
        <Property Name="Start" Type="Edm.DateTimeOffset" Nullable="false" Precision="6"/>
        <Property Name="End" Type="Edm.DateTimeOffset" Nullable="false" Precision="6"/>
      </ComplexType>
      <ComplexType Name="Checksum">
        <Property Name="Value" Type="Edm.String"/>
        <Property Name="Algorithm" Type="Edm.String"/>
        <Property Name="ChecksumDate" Type="Edm.DateTimeOffset" Precision="6"/>
      </ComplexType>
      <EntityType Name="Attribute" Abstract="true">
        <Key><PropertyRef Name="Name"/></Key>
        <Property Name="Name" Type="Edm.String" Nullable="false"/>
        <Property Name="ValueType" Type="Edm.String" Nullable="false"/>
      </EntityType>
      <EntityType Name="StringAttribute" BaseType="OData.CSC.Attribute"><Property Name="Value" Type="Edm.String"/></EntityType>
      <EntityType Name="IntegerAttribute" BaseType="OData.CSC.Attribute"><Property Name="Value" Type="Edm.Int64"/></EntityType>
      <EntityType Name="DoubleAttribute" BaseType="OData.CSC.Attribute"><Property Name="Value" Type="Edm.Double"/></EntityType>
      <EntityType Name="DateTimeOffsetAttribute" BaseType="OData.CSC.Attribute"><Property Name="Value" Type="Edm.DateTimeOffset" Precision="6"/></EntityType>
      <EntityType Name="BooleanAttribute" BaseType="OData.CSC.Attribute"><Property Name="Value" Type="Edm.Boolean"/></EntityType>
      <EntityType Name="Asset">
        <Key><PropertyRef Name="Id"/></Key>
        <Property Name="Id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="Type" Type="Edm.String"/>
        <Property Name="DownloadLink" Type="Edm.String"/>
        <Property Name="S3Path" Type="Edm.String"/>
      </EntityType>
      <ComplexType Name="Location">
        <Property Name="FormatType" Type="Edm.String"/>
        <Property Name="DownloadLink" Type="Edm.String"/>
        <Property Name="ContentLength" Type="Edm.Int64"/>
        <Property Name="Checksum" Type="Collection(OData.CSC.Checksum)"/>
        <Property Name="S3Path" Type="Edm.String"/>
      </ComplexType>
      <EntityType Name="Product" HasStream="true">
        <Key><PropertyRef Name="Id"/></Key>
        <Property Name="Id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="Name" Type="Edm.String" Nullable="false"/>
        <Property Name="ContentType" Type="Edm.String"/>
        <Property Name="ContentLength" Type="Edm.Int64"/>
        <Property Name="OriginDate" Type="Edm.DateTimeOffset" Precision="6"/>
        <Property Name="PublicationDate" Type="Edm.DateTimeOffset" Precision="6"/>
        <Property Name="ModificationDate" Type="Edm.DateTimeOffset" Precision="6"/>
        <Property Name="Online" Type="Edm.Boolean"/>
        <Property Name="EvictionDate" Type="Edm.DateTimeOffset" Precision="6"/>
        <Property Name="S3Path" Type="Edm.String"/>
        <Property Name="Checksum" Type="Collection(OData.CSC.Checksum)"/>
        <Property Name="ContentDate" Type="OData.CSC.TimeRange"/>
        <Property Name="Footprint" Type="Edm.String"/>
        <Property Name="GeoFootprint" Type="Edm.GeographyPolygon" SRID="4326"/>
        <Property Name="Locations" Type="Collection(OData.CSC.Location)"/>
        <NavigationProperty Name="Attributes" Type="Collection(OData.CSC.Attribute)"/>
        <NavigationProperty Name="Assets" Type="Collection(OData.CSC.Asset)"/>
      </EntityType>
      <EntityType Name="DeletedProduct">
        <Key><PropertyRef Name="Id"/></Key>
        <Property Name="Id" Type="Edm.Guid" Nullable="false"/>
        <Property Name="Name" Type="Edm.String"/>
        <Property Name="DeletionDate" Type="Edm.DateTimeOffset" Precision="6"/>
        <Property Name="DeletionCause" Type="Edm.String"/>
      </EntityType>
      <EntityType Name="Collection">
        <Key><PropertyRef Name="Name"/></Key>
        <Property Name="Name" Type="Edm.String" Nullable="false"/>
        <Property Name="Description" Type="Edm.String"/>
        <Property Name="ProductTypes" Type="Collection(Edm.String)"/>
        <Property Name="StacCollections" Type="Collection(Edm.String)"/>
      </EntityType>
      <Function Name="Intersects" IsBound="false">
        <Parameter Name="area" Type="Edm.Geography"/>
        <ReturnType Type="Edm.Boolean"/>
      </Function>
      <Action Name="FilterList" IsBound="true">
        <Parameter Name="Products" Type="Collection(OData.CSC.Product)"/>
        <Parameter Name="FilterProducts" Type="Collection(Edm.String)"/>
        <ReturnType Type="Collection(OData.CSC.Product)"/>
      </Action>
      <EntityContainer Name="Container">
        <EntitySet Name="Products" EntityType="OData.CSC.Product"/>
        <EntitySet Name="DeletedProducts" EntityType="OData.CSC.DeletedProduct"/>
        <EntitySet Name="Collections" EntityType="OData.CSC.Collection"/>
        <EntitySet Name="Assets" EntityType="OData.CSC.Asset"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
)csdl";
  return xml;
}

}  // namespace ds::api::odata
